// Command openapigen writes the gateway's served OpenAPI document: it
// converts the Swagger 2.0 document protoc-gen-openapiv2 generates from
// gateway.proto into OpenAPI 3.0.3 and applies the committed overlay,
// which says what the generator cannot (raw FHIR JSON and HL7 bodies,
// every status the REST door answers, headers, bearer security, the
// routes the door answers outside the proto). scripts/proto.sh runs it:
//
//	openapigen -swagger gateway.swagger.json -overlay overlay.yaml -out openapi.json
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
)

func main() {
	swagger := flag.String("swagger", "", "Swagger 2.0 document from protoc-gen-openapiv2")
	overlay := flag.String("overlay", "", "OpenAPI 3 overlay (YAML), merged like a JSON Merge Patch")
	out := flag.String("out", "", "where to write the OpenAPI 3.0.3 document")
	flag.Parse()
	if *swagger == "" || *overlay == "" || *out == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*swagger, *overlay, *out); err != nil {
		fmt.Fprintln(os.Stderr, "openapigen:", err)
		os.Exit(1)
	}
}

func run(swaggerPath, overlayPath, outPath string) error {
	sw, err := os.ReadFile(swaggerPath)
	if err != nil {
		return fmt.Errorf("read swagger: %w", err)
	}
	ov, err := os.ReadFile(overlayPath)
	if err != nil {
		return fmt.Errorf("read overlay: %w", err)
	}
	doc, err := build(sw, ov)
	if err != nil {
		return err
	}
	if err := os.WriteFile(outPath, doc, 0o644); err != nil {
		return fmt.Errorf("write document: %w", err)
	}
	return nil
}

// build returns the served document: swagger converted, overlay applied,
// every $ref checked, as indented JSON with sorted keys and a final
// newline.
func build(swagger, overlay []byte) ([]byte, error) {
	var sw map[string]any
	if err := json.Unmarshal(swagger, &sw); err != nil {
		return nil, fmt.Errorf("decode swagger: %w", err)
	}
	doc, err := convert(sw)
	if err != nil {
		return nil, err
	}
	ov, err := decodeOverlay(overlay)
	if err != nil {
		return nil, err
	}
	doc = merge(doc, ov, "").(map[string]any)
	if err := checkRefs(doc); err != nil {
		return nil, fmt.Errorf("check document: %w", err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode document: %w", err)
	}
	return buf.Bytes(), nil
}
