package v2fhir

// Bundle returns the Result as a FHIR transaction Bundle: one PUT
// <Type>/<id> entry per resource, in the Result's order. It is what
// `gateway convert` prints.
func (r *Result) Bundle() ([]byte, error) {
	n := 64
	for _, e := range r.Entries {
		n += len(e.JSON) + len(e.Type) + len(e.ID) + 64
	}
	w := jw{b: make([]byte, 0, n)}
	w.b = append(w.b, `{"resourceType":"Bundle","type":"transaction"`...)
	a := w.arr("entry")
	for _, e := range r.Entries {
		m := w.obj("")
		w.key("resource")
		w.b = append(w.b, e.JSON...)
		req := w.obj("request")
		w.str("method", "PUT")
		w.str("url", e.Type+"/"+e.ID)
		w.end(req, '}')
		w.end(m, '}')
	}
	w.end(a, ']')
	w.b = append(w.b, '}')
	return w.b, nil
}
