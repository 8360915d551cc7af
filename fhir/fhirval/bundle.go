package fhirval

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/hl7gw/gateway/validation"
)

// The Bundle rules the HL7 Java validator checks beyond the bdl-*
// invariants (its BundleValidator), errors only:
//
//   - links: in a searchset or history, the paging relations (first,
//     previous, next, last) and self occur at most once; in other Bundle
//     types paging relations are not allowed and self occurs at most once;
//   - a document or message has a first entry;
//   - each entry's fullUrl is an absolute URI; one that looks like a
//     RESTful URL ([base/]Type/id) names its resource's type and id; an
//     entry of a Bundle other than a transaction or batch (or their
//     responses) whose resource has an id has a fullUrl, a search
//     outcome excepted;
//   - a searchset's entries carry a resource; a match or include has an
//     id; a match is of a type the search (its self link) asked for; an
//     outcome is an OperationOutcome;
//   - a literal reference inside the Bundle that matches several entries,
//     or names a version the Bundle does not hold, is an error.

var absoluteURI = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.\-]*:`)

// restfulURL is the Java validator's test for a fullUrl that looks like a
// RESTful server URL: an optional http(s) base, a type, an id and an
// optional version. Group 4 is the type, 5 the id.
var restfulURL = regexp.MustCompile(`^((http|https)://([A-Za-z0-9\\.:%$]*/)*)?([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(/_history/[A-Za-z0-9\-.]{1,64})?$`)

// pagingRelations are the link relations of search paging.
var pagingRelations = map[string]bool{"first": true, "previous": true, "next": true, "last": true}

func (r *rules) bundle(o map[string]any, loc string) {
	typ, _ := o["type"].(string)
	r.bundleLinks(o, typ, loc)
	entries, _ := o["entry"].([]any)
	if len(entries) == 0 && (typ == "document" || typ == "message") {
		r.add(validation.CodeRequiredMissing, loc, "a "+typ+" Bundle needs a first entry")
	}
	fullURLOptional := typ == "transaction" || typ == "transaction-response" || typ == "batch" || typ == "batch-response"
	versions := map[string][]string{} // "Type/id" -> meta.versionId of each entry
	for i, e := range entries {
		em := obj(e)
		eloc := loc + ".entry[" + strconv.Itoa(i) + "]"
		res := obj(em["resource"])
		rt, _ := res["resourceType"].(string)
		id, _ := res["id"].(string)
		fu, hasFullURL := em["fullUrl"].(string)
		switch {
		case !hasFullURL:
			// R4 (Bundle.entry.fullUrl): "SHALL have a value except that
			// fullUrl can be empty on a POST; results from operations
			// might involve resources that are not identified". The
			// Java validator asks it of every entry; an entry whose
			// resource has no id, or a search's outcome (the
			// OperationOutcome the search operation produced, as in the
			// R4 example bundle-search-warning), is let go here.
			outcome, _ := obj(em["search"])["mode"].(string)
			if !fullURLOptional && em["fullUrl"] == nil && id != "" && outcome != "outcome" {
				r.add(validation.CodeRequiredMissing, eloc, "an entry of a "+typ+" Bundle needs a fullUrl")
			}
		case !absoluteURI.MatchString(fu):
			r.add(validation.CodeDataType, eloc, "fullUrl must be an absolute URI")
		case rt != "":
			if m := restfulURL.FindStringSubmatch(fu); m != nil && KnownResourceType(m[4]) {
				switch {
				case id == "":
					r.add(validation.CodeRequiredMissing, eloc, "fullUrl is a RESTful URL but the resource has no id")
				case !strings.HasSuffix(fu, "/"+rt+"/"+id):
					r.add(validation.CodeDataType, eloc, "fullUrl is a RESTful URL that does not end with the resource's type and id")
				}
			}
		}
		if rt == "" || id == "" {
			continue
		}
		vid, _ := obj(res["meta"])["versionId"].(string)
		versions[rt+"/"+id] = append(versions[rt+"/"+id], vid)
	}
	if typ == "searchset" {
		r.searchSet(o, entries, loc)
	}
	for i, e := range entries {
		em := obj(e)
		r.references(em["resource"], loc+".entry["+strconv.Itoa(i)+"].resource", versions)
	}
}

// bundleLinks checks the link relations for the Bundle's type.
func (r *rules) bundleLinks(o map[string]any, typ, loc string) {
	links, _ := o["link"].([]any)
	search := typ == "searchset" || typ == "history"
	known := search || typ == "document" || typ == "message" || typ == "collection" || typ == "subscription-notification" ||
		typ == "transaction" || typ == "transaction-response" || typ == "batch" || typ == "batch-response"
	if !known {
		return
	}
	seen := map[string]bool{}
	for i, l := range links {
		rel, _ := obj(l)["relation"].(string)
		lloc := loc + ".link[" + strconv.Itoa(i) + "]"
		switch {
		case rel == "":
			continue
		case pagingRelations[rel] && !search:
			r.add(validation.CodeDataType, lloc, "a "+typ+" Bundle has no search paging links")
		case (pagingRelations[rel] || rel == "self") && seen[rel]:
			r.add(validation.CodeDuplicateKey, lloc, "link relation occurs more than once")
		}
		seen[rel] = true
	}
}

// searchSet checks a searchset's entries by their search mode.
func (r *rules) searchSet(o map[string]any, entries []any, loc string) {
	types := searchTypes(o)
	for i, e := range entries {
		em := obj(e)
		eloc := loc + ".entry[" + strconv.Itoa(i) + "]"
		res, ok := em["resource"].(map[string]any)
		if !ok {
			r.add(validation.CodeRequiredMissing, eloc, "a searchset entry needs a resource")
			continue
		}
		rt, _ := res["resourceType"].(string)
		_, hasID := res["id"].(string)
		switch mode, _ := obj(em["search"])["mode"].(string); mode {
		case "match":
			if !hasID {
				r.add(validation.CodeRequiredMissing, eloc+".resource", "a search match needs an id")
			}
			if len(types) > 0 && rt != "" && !contains(types, rt) {
				r.add(validation.CodeDataType, eloc+".resource", "a search match is not of a type the search asked for")
			}
		case "include":
			if !hasID {
				r.add(validation.CodeRequiredMissing, eloc+".resource", "a search include needs an id")
			}
		case "outcome":
			if rt != "OperationOutcome" {
				r.add(validation.CodeDataType, eloc+".resource", "a search outcome must be an OperationOutcome")
			}
		}
	}
}

// searchTypes reads the resource types a searchset's self link asked for:
// the last path segment when it is a resource type, else the _type
// parameter's list; none when the link says neither.
func searchTypes(o map[string]any) []string {
	links, _ := o["link"].([]any)
	var self string
	for _, l := range links {
		if rel, _ := obj(l)["relation"].(string); rel == "self" {
			self, _ = obj(l)["url"].(string)
			break
		}
	}
	if self == "" {
		return nil
	}
	path, query, _ := strings.Cut(self, "?")
	if last := path[strings.LastIndexByte(path, '/')+1:]; KnownResourceType(last) {
		return []string{last}
	}
	var types []string
	for _, p := range strings.Split(query, "&") {
		if v, ok := strings.CutPrefix(p, "_type="); ok {
			types = append(types, strings.Split(v, ",")...)
		}
	}
	return types
}

// references checks literal relative references inside one Bundle entry
// against the Bundle's entries.
func (r *rules) references(v any, loc string, versions map[string][]string) {
	switch t := v.(type) {
	case []any:
		for i, e := range t {
			r.references(e, loc+"["+strconv.Itoa(i)+"]", versions)
		}
	case map[string]any:
		if ref, ok := t["reference"].(string); ok {
			target, ver, _ := strings.Cut(ref, "/_history/")
			vs, found := versions[target]
			switch {
			case !found:
			case ver == "" && len(vs) > 1:
				r.add(validation.CodeDuplicateKey, loc, "reference matches more than one Bundle entry")
			case ver != "" && !contains(vs, ver):
				r.add(validation.CodeUnknownKey, loc, "referenced version is not in the Bundle")
			}
		}
		for k, e := range t {
			if k == "resource" || k == "contained" {
				continue // nested resources have their own scope
			}
			r.references(e, loc+"."+safeName(k), versions)
		}
	}
}
