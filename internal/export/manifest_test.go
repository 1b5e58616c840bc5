package export

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// TestObjectsAreKubernetesObjects: every object of every golden export
// decodes into its k8s.io/api type with no field unknown, and that type
// encodes back to the same document: the local structs carry exactly the
// Kubernetes JSON. For the Knative Service, whose Go types ebb does not
// import, the same holds for its containers.
func TestObjectsAreKubernetesObjects(t *testing.T) {
	typed := map[string]func() any{
		"Service":                 func() any { return &corev1.Service{} },
		"Deployment":              func() any { return &appsv1.Deployment{} },
		"PodDisruptionBudget":     func() any { return &policyv1.PodDisruptionBudget{} },
		"HorizontalPodAutoscaler": func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
	}
	kinds := map[string]bool{}
	for _, tc := range goldenCases {
		objs, _, err := Kubernetes(tc.cfg(), tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, obj := range objs {
			kinds[obj.GetKind()] = true
			newTyped, ok := typed[obj.GetKind()]
			if !ok {
				t.Fatalf("%s: kind %q has no k8s.io/api type here", tc.name, obj.GetKind())
			}
			sameThroughType(t, tc.name+" "+obj.GetKind(), obj, newTyped())
		}

		objs, _, err = Knative(tc.cfg(), tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range objs[0].(*knativeService).Spec.Template.Spec.Containers {
			sameThroughType(t, tc.name+" Knative container "+string(rune('0'+i)), c, &corev1.Container{})
		}
	}
	for kind := range typed {
		if !kinds[kind] {
			t.Errorf("no golden case exports a %s", kind)
		}
	}
}

// sameThroughType decodes ours into typed strictly, and checks that typed
// renders as ours does.
func sameThroughType(t *testing.T, name string, ours, typed any) {
	t.Helper()
	raw, err := json.Marshal(ours)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(typed); err != nil {
		t.Errorf("%s does not decode into %T: %v", name, typed, err)
		return
	}
	want, err := plain(ours)
	if err != nil {
		t.Fatal(err)
	}
	got, err := plain(typed)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s differs through %T (-ours +typed):\n%s", name, typed, diff)
	}
}

// TestQuantitiesAreCanonical: quantities are written as the API server
// writes them back.
func TestQuantitiesAreCanonical(t *testing.T) {
	milli := []int64{0, 1, 10, 100, 250, 500, 999, 1000, 1500, 2000, 4000, 10000, 64000, 1000000, 1500000, 3000000000}
	for range 200 {
		milli = append(milli, rand.Int64N(1_000_000_000))
	}
	for _, m := range milli {
		if got, want := milliQuantity(m), resource.NewMilliQuantity(m, resource.DecimalSI).String(); got != want {
			t.Errorf("milliQuantity(%d) = %q, want %q", m, got, want)
		}
	}
	bytes := []int64{0, 1, 512, 1023, 1024, 1025, 1536, 1 << 20, 512 << 20, 1 << 30, 15872 << 20, 16 << 30, 1 << 40, 3 << 50, 100_000}
	for range 200 {
		bytes = append(bytes, rand.Int64N(1<<20)<<20, rand.Int64N(1<<40))
	}
	for _, n := range bytes {
		if got, want := bytesQuantity(n), resource.NewQuantity(n, resource.BinarySI).String(); got != want {
			t.Errorf("bytesQuantity(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestDNSLabelAsKubernetes: isDNSLabel accepts exactly the names
// Kubernetes accepts as a Service's name.
func TestDNSLabelAsKubernetes(t *testing.T) {
	names := []string{"", "a", "app", "my-app", "My_App", "-app", "app-", "a-b-c", "0abc", "abc0", "a.b",
		"ünïcode", "a b", strings.Repeat("a", 63), strings.Repeat("a", 64), "UPPER", "x--y"}
	const alphabet = "abz09-A_."
	for range 2000 {
		b := make([]byte, 1+rand.IntN(8))
		for i := range b {
			b[i] = alphabet[rand.IntN(len(alphabet))]
		}
		names = append(names, string(b))
	}
	for _, name := range names {
		if got, want := isDNSLabel(name), len(validation.IsDNS1035Label(name)) == 0; got != want {
			t.Errorf("isDNSLabel(%q) = %v, Kubernetes says %v", name, got, want)
		}
	}
}
