// Package kubetest starts a real Kubernetes control plane (etcd and
// kube-apiserver, on 127.0.0.1) for tests, with
// sigs.k8s.io/controller-runtime/pkg/envtest. Only tests import it, so its
// dependencies never reach the ebb binary.
//
// The binaries are built by .ci/kube-binaries into BinDir; when they are
// missing, Start skips the test with a message naming the script.
package kubetest

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// BinDir is where .ci/kube-binaries puts kube-apiserver, etcd and
// knative-crds/: $EBB_KUBE_BIN, else $HOME/.cache/ebb/kube.
func BinDir() string {
	if d := os.Getenv("EBB_KUBE_BIN"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "ebb-kube")
	}
	return filepath.Join(home, ".cache", "ebb", "kube")
}

// KnativeCRDDir is where .ci/kube-binaries copies Knative Serving's CRDs.
func KnativeCRDDir() string { return filepath.Join(BinDir(), "knative-crds") }

// Cluster is a running control plane.
type Cluster struct {
	// Config reaches the API server as an administrator.
	Config *rest.Config
	// Client is a controller-runtime client for Config.
	Client client.Client
}

// Start runs etcd and kube-apiserver on 127.0.0.1 and installs the CRDs
// found in crdDirs (every directory must exist). The control plane is
// stopped in t.Cleanup. Start skips t when the binaries are absent.
func Start(t testing.TB, crdDirs ...string) *Cluster {
	t.Helper()
	dir := BinDir()
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(dir, bin)); err != nil {
			t.Skipf("SKIP: no %s in %s: run `bash .ci/kube-binaries` to build the test control plane (kube-apiserver, etcd, Knative CRDs)", bin, dir)
		}
	}
	for _, d := range crdDirs {
		if _, err := os.Stat(d); err != nil {
			t.Skipf("SKIP: no CRD directory %s: run `bash .ci/kube-binaries` to copy Knative Serving's CRDs", d)
		}
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory:    dir,
		CRDDirectoryPaths:        crdDirs,
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: 2 * time.Minute,
		ControlPlaneStopTimeout:  30 * time.Second,
	}
	cfg, err := env.Start()
	if err != nil {
		// Start may have left a process running; Stop ends whatever it started.
		_ = env.Stop()
		t.Fatalf("kubetest: start control plane from %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("kubetest: stop control plane: %v", err)
		}
	})
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatalf("kubetest: client: %v", err)
	}
	return &Cluster{Config: cfg, Client: c}
}
