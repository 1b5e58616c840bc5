package testapps

import (
	"path/filepath"
	"runtime"
)

// Dir is the directory holding this package's files (python/ is in it).
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

// PythonDir is the directory of the Python fixtures, for uvicorn's
// --app-dir.
func PythonDir() string { return filepath.Join(Dir(), "python") }

// DebianPython is the interpreter that has Debian's python3-fastapi and
// python3-uvicorn; the python3 first on PATH may be another one.
const DebianPython = "/usr/bin/python3"
