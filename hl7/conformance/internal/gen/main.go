// Command gen compacts the HL7 v2 specification tables (one JSON file per
// version, derived from github.com/kardianos/hl7) into the gzip'd JSON files
// that package conformance embeds. It keeps only what validation needs: message
// structures, segment fields, data type components, and the values of
// HL7-defined tables (user-defined tables are left to conformance profiles).
//
// Usage (from the repository root):
//
//	go run ./hl7/conformance/internal/gen -in /work/shared/hl7spec -out hl7/conformance/spec
//
// The output is deterministic: running it twice gives identical bytes.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/hl7gw/gateway/hl7/conformance/internal/compact"
)

// versions lists the source files; v2.8.1 and v2.8.2 reuse v2.8 at run time.
var versions = []string{"2.1", "2.2", "2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8"}

type srcItem struct {
	Pos   string `json:"pos"`
	Name  string `json:"name"`
	Type  string `json:"type"`
	Usage string `json:"usage"`
	Rpt   string `json:"rpt"`
	Len   int    `json:"len"`
	Table string `json:"table"`
}

type srcNode struct {
	Segment  string    `json:"segment"`
	Group    string    `json:"group"`
	Usage    string    `json:"usage"`
	Rpt      string    `json:"rpt"`
	Children []srcNode `json:"children"`
}

type srcSpec struct {
	Version  string `json:"version"`
	Messages map[string]struct {
		Structure string    `json:"structure"`
		Segments  []srcNode `json:"segments"`
	} `json:"messages"`
	Segments map[string]struct {
		Fields []srcItem `json:"fields"`
	} `json:"segments"`
	Datatypes map[string]struct {
		Components []srcItem `json:"components"`
		Len        int       `json:"len"`
	} `json:"datatypes"`
	Tables map[string]struct {
		Type   string   `json:"type"`
		Values []string `json:"values"`
	} `json:"tables"`
}

func main() {
	in := flag.String("in", "/work/shared/hl7spec", "directory holding v2.x.json and LICENSE")
	out := flag.String("out", "hl7/conformance/spec", "output directory")
	flag.Parse()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	all := map[string]bool{}
	for _, v := range versions {
		if err := collectSegments(filepath.Join(*in, "v"+v+".json"), all); err != nil {
			log.Fatalf("gen: version %s: %v", v, err)
		}
		if err := convert(filepath.Join(*in, "v"+v+".json"), filepath.Join(*out, "v"+v+".json.gz")); err != nil {
			log.Fatalf("gen: version %s: %v", v, err)
		}
	}
	ids := make([]string, 0, len(all))
	for id := range all {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	if err := os.WriteFile(filepath.Join(*out, "segments.txt"), []byte(strings.Join(ids, "\n")+"\n"), 0o644); err != nil {
		log.Fatal(err)
	}
	if err := copyFile(filepath.Join(*in, "LICENSE"), filepath.Join(*out, "LICENSE")); err != nil {
		log.Fatal(err)
	}
}

func convert(src, dst string) error {
	raw, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	var s srcSpec
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	c := compact.Spec{
		Version:  s.Version,
		Messages: map[string][]compact.Node{},
		Segments: map[string][]compact.Item{},
		Types:    map[string][]compact.Item{},
		Tables:   map[string][]string{},
		User:     nil,
	}
	for id, m := range s.Messages {
		c.Messages[id] = nodes(m.Segments)
		if m.Structure != "" && m.Structure != id {
			if _, ok := s.Messages[m.Structure]; !ok {
				c.Messages[m.Structure] = c.Messages[id]
			}
		}
	}
	for id, seg := range s.Segments {
		items, err := items(seg.Fields, true)
		if err != nil {
			return fmt.Errorf("segment %s: %w", id, err)
		}
		c.Segments[id] = items
	}
	for id, dt := range s.Datatypes {
		items, err := items(dt.Components, false)
		if err != nil {
			return fmt.Errorf("datatype %s: %w", id, err)
		}
		c.Types[id] = items
	}
	for id, t := range s.Tables {
		if t.Type != "HL7" {
			c.User = append(c.User, id)
			continue
		}
		vals := append([]string(nil), t.Values...)
		sort.Strings(vals)
		c.Tables[id] = dedupe(vals)
	}
	sort.Strings(c.User)
	js, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := zw.Write(js); err != nil {
		return fmt.Errorf("compress: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("compress: %w", err)
	}
	return os.WriteFile(dst, buf.Bytes(), 0o644)
}

// collectSegments adds the segment ids of one version to all.
func collectSegments(src string, all map[string]bool) error {
	raw, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	var s struct {
		Segments map[string]json.RawMessage `json:"segments"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	for id := range s.Segments {
		all[id] = true
	}
	return nil
}

func nodes(src []srcNode) []compact.Node {
	out := make([]compact.Node, 0, len(src))
	for _, n := range src {
		cn := compact.Node{Seg: n.Segment, Group: n.Group, Usage: usage(n.Usage), Rpt: rpt(n.Rpt)}
		if n.Group != "" {
			cn.Children = nodes(n.Children)
		}
		out = append(out, cn)
	}
	return out
}

// items orders fields or components by their position; gaps become
// optional ST items so that index i is always position i+1.
func items(src []srcItem, names bool) ([]compact.Item, error) {
	max := 0
	byPos := map[int]srcItem{}
	for _, it := range src {
		dot := strings.LastIndexByte(it.Pos, '.')
		n, err := strconv.Atoi(it.Pos[dot+1:])
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad position %q", it.Pos)
		}
		byPos[n] = it
		if n > max {
			max = n
		}
	}
	out := make([]compact.Item, max)
	for i := range out {
		it, ok := byPos[i+1]
		if !ok {
			out[i] = compact.Item{Type: "ST", Usage: "O", Rpt: 1}
			continue
		}
		ci := compact.Item{Type: it.Type, Usage: usage(it.Usage), Rpt: rpt(it.Rpt), Len: it.Len, Table: it.Table}
		if names {
			ci.Name = strings.TrimSpace(it.Name)
		}
		out[i] = ci
	}
	return out, nil
}

func usage(u string) string {
	if u == "" {
		return "O"
	}
	return u
}

// rpt maps "1", "5", "*" to 1, 5, 0 (0 = unbounded).
func rpt(r string) int {
	if r == "*" || r == "" {
		return 0
	}
	n, err := strconv.Atoi(r)
	if err != nil {
		return 0
	}
	return n
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i > 0 && v == s[i-1] {
			continue
		}
		out = append(out, v)
	}
	return out
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
