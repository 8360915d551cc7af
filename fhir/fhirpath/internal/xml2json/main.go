package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"reflect"
	"strings"
)

func main() {
	learn := flag.String("learn", "", "comma-separated official FHIR JSON examples to learn shapes from")
	compare := flag.String("compare", "", "a JSON form of the same resource to compare the conversion with")
	writeFiles := flag.Bool("w", false, "write each in.xml to in.json beside it")
	flag.Parse()
	if *writeFiles {
		for _, in := range flag.Args() {
			if err := writeBeside(*learn, in); err != nil {
				fmt.Fprintln(os.Stderr, "xml2json:", err)
				os.Exit(1)
			}
		}
		return
	}
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: xml2json [-learn a.json,b.json] [-compare ref.json] in.xml")
		os.Exit(2)
	}
	if err := run(*learn, *compare, flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "xml2json:", err)
		os.Exit(1)
	}
}

func writeBeside(learn, in string) error {
	out, err := os.Create(strings.TrimSuffix(in, ".xml") + ".json")
	if err != nil {
		return err
	}
	old := os.Stdout
	os.Stdout = out
	err = run(learn, "", in)
	os.Stdout = old
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

func run(learn, compare, in string) error {
	s := newShapes()
	for _, f := range strings.Split(learn, ",") {
		if f == "" {
			continue
		}
		v, err := readJSON(f)
		if err != nil {
			return err
		}
		s.learn(v, "")
	}
	src, err := os.ReadFile(in)
	if err != nil {
		return fmt.Errorf("read input: %w", err)
	}
	c := &converter{shapes: s}
	o, err := c.convert(src)
	if err != nil {
		return fmt.Errorf("convert %s: %w", in, err)
	}
	if compare == "" {
		return write(os.Stdout, o)
	}
	return compareWith(o, compare)
}

func readJSON(path string) (any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return v, nil
}

// compareWith checks that the conversion and a reference JSON hold the same
// content, and prints each differing path.
func compareWith(o *object, ref string) error {
	var b bytes.Buffer
	if err := write(&b, o); err != nil {
		return err
	}
	d := json.NewDecoder(&b)
	d.UseNumber()
	var got any
	if err := d.Decode(&got); err != nil {
		return err
	}
	want, err := readJSON(ref)
	if err != nil {
		return err
	}
	diffs := diff("", got, want, nil)
	for _, d := range diffs {
		fmt.Println(d)
	}
	if len(diffs) > 0 {
		return fmt.Errorf("%d differences from %s", len(diffs), ref)
	}
	fmt.Println("same content as", ref)
	return nil
}

func diff(path string, a, b any, out []string) []string {
	ma, okA := a.(map[string]any)
	mb, okB := b.(map[string]any)
	if okA && okB {
		for k := range ma {
			out = diff(path+"."+k, ma[k], mb[k], out)
		}
		for k := range mb {
			if _, ok := ma[k]; !ok {
				out = append(out, fmt.Sprintf("%s.%s: missing from the conversion", path, k))
			}
		}
		return out
	}
	aa, okA := a.([]any)
	ab, okB := b.([]any)
	if okA && okB && len(aa) == len(ab) {
		for i := range aa {
			out = diff(fmt.Sprintf("%s[%d]", path, i), aa[i], ab[i], out)
		}
		return out
	}
	if !reflect.DeepEqual(a, b) {
		out = append(out, fmt.Sprintf("%s: converted %v, reference %v", path, short(a), short(b)))
	}
	return out
}

func short(v any) string {
	s := fmt.Sprintf("%#v", v)
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return s
}
