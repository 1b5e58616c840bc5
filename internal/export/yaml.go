package export

import (
	"bytes"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// YAML renders objs as one multi-document YAML stream, documents separated
// by "---". Fields the server fills in (status, creationTimestamp) are left
// out, so the output is what a user would write by hand.
func YAML(objs []runtime.Object) ([]byte, error) {
	var buf bytes.Buffer
	for i, obj := range objs {
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
		out, err := yaml.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("export: render %T: %w", obj, err)
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(out)
	}
	return buf.Bytes(), nil
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
