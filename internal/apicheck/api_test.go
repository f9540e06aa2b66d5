// Package apicheck holds the test that the library's public API is the
// same in every build: the build tags that change what is compiled
// (coopcheck, Mono's checked build; coopmodel, the explorer's; race) may
// change how the packages work, never what they export. What the
// explorer needs to reach inside them goes through internal/modelhooks.
package apicheck

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/build"
	"go/doc"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// publicPackages are the module's importable packages, relative to its
// root; examples and internal packages are not API.
var publicPackages = []string{
	"arch", "coroutine", "monitor", "safepoint", "suspend", "suspendtest", "threadstate",
}

// tagSets are the builds compared with the plain one.
var tagSets = [][]string{
	{"coopcheck"},
	{"coopmodel"},
	{"coopcheck", "coopmodel"},
	{"race"},
}

// api lists a package's exported declarations as the build with tags
// compiles it on this GOOS/GOARCH, one line each, sorted. A constant's
// or variable's value is left out: Checked, for one, says which build
// it is.
func api(t *testing.T, dir string, tags []string) []string {
	t.Helper()
	ctx := build.Default
	ctx.GOOS, ctx.GOARCH = runtime.GOOS, runtime.GOARCH
	ctx.BuildTags = tags
	bp, err := ctx.ImportDir(dir, 0)
	require.NoError(t, err, "%s with tags %v", dir, tags)
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range append(append([]string{}, bp.GoFiles...), bp.CgoFiles...) {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
		require.NoError(t, err)
		files = append(files, f)
	}
	pkg, err := doc.NewFromFiles(fset, files, bp.ImportPath)
	require.NoError(t, err)

	var out []string
	node := func(n any) {
		var b bytes.Buffer
		require.NoError(t, printer.Fprint(&b, fset, n))
		out = append(out, strings.Join(strings.Fields(b.String()), " "))
	}
	values := func(kind string, vs []*doc.Value) {
		for _, v := range vs {
			for _, spec := range v.Decl.Specs {
				vs := spec.(*ast.ValueSpec)
				for _, n := range vs.Names {
					if !n.IsExported() {
						continue
					}
					typ := ""
					if vs.Type != nil {
						var b bytes.Buffer
						require.NoError(t, printer.Fprint(&b, fset, vs.Type))
						typ = " " + b.String()
					}
					out = append(out, kind+" "+n.Name+typ)
				}
			}
		}
	}
	funcs := func(fs []*doc.Func) {
		for _, f := range fs {
			d := *f.Decl
			d.Doc, d.Body = nil, nil
			node(&d)
		}
	}
	values("const", pkg.Consts)
	values("var", pkg.Vars)
	funcs(pkg.Funcs)
	for _, typ := range pkg.Types {
		d := *typ.Decl
		d.Doc = nil
		node(&d)
		values("const", typ.Consts)
		values("var", typ.Vars)
		funcs(typ.Funcs)
		funcs(typ.Methods)
	}
	sort.Strings(out)
	return out
}

// TestAPIIsTheSameInEveryBuild: go doc prints the same exported names,
// signatures and types with and without every build tag the library
// reads.
func TestAPIIsTheSameInEveryBuild(t *testing.T) {
	for _, rel := range publicPackages {
		dir := filepath.Join("..", "..", rel)
		plain := api(t, dir, nil)
		require.NotEmpty(t, plain, "%s exports nothing: the test reads the wrong directory", rel)
		for _, tags := range tagSets {
			got := api(t, dir, tags)
			extra, missing := difference(got, plain), difference(plain, got)
			assert.Empty(t, extra, "package %s: declarations only with -tags %s", rel, strings.Join(tags, ","))
			assert.Empty(t, missing, "package %s: declarations missing with -tags %s", rel, strings.Join(tags, ","))
		}
	}
}

// difference is the lines of a that b does not have.
func difference(a, b []string) []string {
	in := map[string]bool{}
	for _, l := range b {
		in[l] = true
	}
	var out []string
	for _, l := range a {
		if !in[l] {
			out = append(out, l)
		}
	}
	return out
}

// TestTheCheckSeesAnAddition: the comparison is not blind. A declaration
// present in one build only is reported.
func TestTheCheckSeesAnAddition(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		require.NoError(t, writeFile(filepath.Join(dir, name), src))
	}
	write("a.go", "package p\n\n// A is in every build.\nfunc A() {}\n")
	write("b.go", "//go:build coopmodel\n\npackage p\n\n// B is only in the explorer's.\nfunc B(x int) error { return nil }\n")
	plain, model := api(t, dir, nil), api(t, dir, []string{"coopmodel"})
	assert.Equal(t, []string{"func A()"}, plain)
	assert.Equal(t, []string{"func A()", "func B(x int) error"}, model)
	assert.NotEqual(t, fmt.Sprint(plain), fmt.Sprint(model))
}

func writeFile(path, src string) error { return os.WriteFile(path, []byte(src), 0o644) }
