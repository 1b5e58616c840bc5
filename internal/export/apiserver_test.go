package export

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/ebb-run/ebb/config"
	"github.com/ebb-run/ebb/internal/kubetest"
)

// TestAPIServerAcceptsExports creates every golden export, parsed back from
// the YAML a user would apply, on a real kube-apiserver with a server-side
// dry run (the Knative Service after installing Knative Serving's CRDs), and
// checks that the server kept every field: a field the schema does not know
// would be pruned silently.
func TestAPIServerAcceptsExports(t *testing.T) {
	cluster := kubetest.Start(t, kubetest.KnativeCRDDir())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Namespaces named by the cases must exist for a dry run to pass.
	for _, tc := range goldenCases {
		if ns := tc.opts.Namespace; ns != "" {
			err := cluster.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
			if err != nil && !apierrors.IsAlreadyExists(err) {
				t.Fatalf("create namespace %s: %v", ns, err)
			}
		}
	}

	targets := []struct {
		name   string
		export func(*config.Config, Options) ([]Object, []string, error)
	}{{"kubernetes", Kubernetes}, {"knative", Knative}}
	for _, tc := range goldenCases {
		for _, target := range targets {
			t.Run(tc.name+"/"+target.name, func(t *testing.T) {
				objs, _, err := target.export(tc.cfg(), tc.opts)
				if err != nil {
					t.Fatal(err)
				}
				out, err := YAML(objs)
				if err != nil {
					t.Fatal(err)
				}
				docs := splitYAML(t, out)
				if len(docs) != len(objs) {
					t.Fatalf("YAML has %d documents, want %d", len(docs), len(objs))
				}
				for _, doc := range docs {
					dryRunCreate(ctx, t, cluster.Client, doc)
				}
			})
		}
	}

	// The field check can fail: Knative's CRD schema prunes a field it does
	// not know, and subset reports it.
	t.Run("detects pruned field", func(t *testing.T) {
		objs, _, err := Knative(goldenCases[0].cfg(), goldenCases[0].opts)
		if err != nil {
			t.Fatal(err)
		}
		out, err := YAML(objs)
		if err != nil {
			t.Fatal(err)
		}
		ksvc := splitYAML(t, out)[0]
		if err := unstructured.SetNestedField(ksvc.Object, int64(1), "spec", "template", "spec", "notAField"); err != nil {
			t.Fatal(err)
		}
		want := normalize(t, ksvc.Object)
		ksvc.SetNamespace("default")
		if err := cluster.Client.Create(ctx, ksvc, client.DryRunAll); err != nil {
			t.Fatalf("dry run create: %v", err)
		}
		missing := subset(want, normalize(t, ksvc.Object), "Service")
		if len(missing) != 1 || missing[0] != "Service.spec.template.spec.notAField: missing" {
			t.Errorf("subset = %q, want the pruned field reported", missing)
		}
	})

	// The check can fail: the API server rejects what is invalid.
	t.Run("rejects invalid", func(t *testing.T) {
		objs, _, err := Kubernetes(goldenCases[0].cfg(), goldenCases[0].opts)
		if err != nil {
			t.Fatal(err)
		}
		out, err := YAML(objs)
		if err != nil {
			t.Fatal(err)
		}
		deploy := splitYAML(t, out)[1]
		if err := unstructured.SetNestedField(deploy.Object, int64(0), "spec", "strategy", "rollingUpdate", "maxSurge"); err != nil {
			t.Fatal(err)
		}
		deploy.SetNamespace("default")
		err = cluster.Client.Create(ctx, deploy, client.DryRunAll)
		if !apierrors.IsInvalid(err) {
			t.Fatalf("dry run of a Deployment with maxSurge 0 and maxUnavailable 0: err = %v, want Invalid", err)
		}
	})
}

// splitYAML decodes a multi-document stream into objects.
func splitYAML(t *testing.T, stream []byte) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	for _, doc := range bytes.Split(stream, []byte("\n---\n")) {
		var m map[string]any
		if err := yaml.Unmarshal(doc, &m); err != nil {
			t.Fatalf("parse exported YAML: %v\n%s", err, doc)
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
	return objs
}

// dryRunCreate creates obj with dryRun=All and checks that what the server
// would store still holds every field that was sent.
func dryRunCreate(ctx context.Context, t *testing.T, c client.Client, obj *unstructured.Unstructured) {
	t.Helper()
	want := normalize(t, obj.Object)
	if obj.GetNamespace() == "" {
		obj.SetNamespace("default")
	}
	kind := obj.GetKind()
	if err := c.Create(ctx, obj, client.DryRunAll); err != nil {
		t.Fatalf("dry run create %s: %v", kind, err)
	}
	got := normalize(t, obj.Object)
	if missing := subset(want, got, kind); len(missing) > 0 {
		t.Errorf("the API server dropped or changed fields of the %s:\n  %s", kind, strings.Join(missing, "\n  "))
	}
}

// normalize round-trips v through JSON so numbers compare alike.
func normalize(t *testing.T, v map[string]any) map[string]any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// subset lists the paths of want that got lacks or holds differently.
func subset(want, got any, path string) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: got %v, want an object", path, got)}
		}
		var out []string
		for k, wv := range w {
			if k == "namespace" && strings.HasSuffix(path, ".metadata") {
				continue
			}
			gv, ok := g[k]
			if !ok {
				out = append(out, path+"."+k+": missing")
				continue
			}
			out = append(out, subset(wv, gv, path+"."+k)...)
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{fmt.Sprintf("%s: got %v, want %v", path, got, want)}
		}
		var out []string
		for i := range w {
			out = append(out, subset(w[i], g[i], fmt.Sprintf("%s[%d]", path, i))...)
		}
		return out
	default:
		if fmt.Sprint(want) != fmt.Sprint(got) {
			return []string{fmt.Sprintf("%s: got %v, want %v", path, got, want)}
		}
		return nil
	}
}
