// Package api holds siyu's HTTP contract, api/openapi.yaml, embedded so the
// binary serves the very file the contract tests check responses against.
package api

import (
	_ "embed"
	"sync"

	"sigs.k8s.io/yaml"
)

// OpenAPI is the contract as written, in YAML.
//
//go:embed openapi.yaml
var OpenAPI []byte

var (
	jsonOnce sync.Once
	jsonDoc  []byte
	jsonErr  error
)

// OpenAPIJSON returns the contract converted to JSON, the form /openapi.json
// serves and JSON Schema validators load. The conversion runs once.
func OpenAPIJSON() ([]byte, error) {
	jsonOnce.Do(func() { jsonDoc, jsonErr = yaml.YAMLToJSON(OpenAPI) })
	return jsonDoc, jsonErr
}
