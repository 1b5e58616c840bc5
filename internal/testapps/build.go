package testapps

import (
	"fmt"
	"os/exec"
	"path"
	"path/filepath"
)

// Module is the import path of ebb's module.
const Module = "github.com/ebb-run/ebb"

// Build compiles the package pkg of this module ("examples/hello",
// "cmd/ebb") into dir, with extra go build flags, and returns the binary's
// path. It works from any package's test directory.
func Build(dir, pkg string, flags ...string) (string, error) {
	bin := filepath.Join(dir, path.Base(pkg))
	args := append(append([]string{"build"}, flags...), "-o", bin, Module+"/"+pkg)
	cmd := exec.Command("go", args...)
	cmd.Dir = Dir()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("testapps: go build %s: %w\n%s", pkg, err, out)
	}
	return bin, nil
}

// BuildAppServer compiles appserver into dir and returns the binary's path.
func BuildAppServer(dir string) (string, error) {
	return Build(dir, "internal/testapps/appserver")
}
