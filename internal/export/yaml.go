package export

import (
	"bytes"
	"encoding/json"
	"fmt"

	"sigs.k8s.io/yaml"
)

// YAML renders objs as one multi-document YAML stream, documents separated
// by "---", with the keys of every mapping sorted. Fields the server fills
// in and empty objects are left out, so the output is what a user would
// write by hand.
func YAML(objs []Object) ([]byte, error) {
	var buf bytes.Buffer
	for i, obj := range objs {
		m, err := plain(obj)
		if err != nil {
			return nil, err
		}
		out, err := yaml.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("export: render %s: %w", obj.GetKind(), err)
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(out)
	}
	return buf.Bytes(), nil
}

// plain is obj's JSON as maps, without status, creationTimestamp, nulls
// and empty objects.
func plain(obj any) (map[string]any, error) {
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("export: encode %T: %w", obj, err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("export: decode %T: %w", obj, err)
	}
	delete(m, "status")
	prune(m)
	return m, nil
}

// prune drops creationTimestamp, nulls and the empty objects that
// zero-valued structs leave, at every depth.
func prune(m map[string]any) {
	delete(m, "creationTimestamp")
	for k, v := range m {
		switch v := v.(type) {
		case map[string]any:
			prune(v)
			if len(v) == 0 {
				delete(m, k)
			}
		case []any:
			for _, e := range v {
				if em, ok := e.(map[string]any); ok {
					prune(em)
				}
			}
		case nil:
			delete(m, k)
		}
	}
}
