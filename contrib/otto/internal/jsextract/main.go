// Command jsextract reads otto's own Go test files and writes the
// JavaScript programs they run, with the results they expect, as JSON:
// the test data of ottosuspend's TestPeerSuiteUnderStorms.
//
// otto's tests are Go functions that run JavaScript through a small
// harness: tt(t, func() { test, _ := test(); test(src, want); ... }). Each
// "test, _ := test()" makes a fresh VM, and the test(src, want) calls
// after it run on that VM in order, each checked against want; a call of
// the package-level test(src) (no local tester in scope) runs src alone
// on a VM of its own and checks nothing. underscore's tests do the same
// on a VM with underscore.js and a QUnit-like shim loaded
// (test := underscoreTest()). jsextract keeps every group whose
// statements are only such calls, with string-literal sources and
// literal expectations; a group with any other Go code in it (values set
// from Go, results checked in Go) is listed as skipped, with the reason.
//
// Only data is taken from otto's files: the JavaScript sources and the
// expected values. Run it from contrib/otto:
//
//	go run ./internal/jsextract -o ottosuspend/testdata/otto_programs.json
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
	"log"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Want is a step's expected result, as otto's test wrote it.
type Want struct {
	// Kind is "string" (the value's String()), "number", "bool",
	// "nullish" (undefined or null), or "error" (for a raise step: the
	// error's message starts with String).
	Kind   string  `json:"kind"`
	String string  `json:"string,omitempty"`
	Number float64 `json:"-"`
	// NumberText is Number as JSON can hold it ("NaN", "+Inf" too).
	NumberText string `json:"number,omitempty"`
	Bool       bool   `json:"bool,omitempty"`
}

// Step is one test(src, want) call.
type Step struct {
	Line int    `json:"line"`
	Src  string `json:"src"`
	// Raise: the source was prefixed "raise:", it must throw.
	Raise bool `json:"raise,omitempty"`
	// Ident: the source is a bare identifier, which otto's harness reads
	// as a global (it does not run it).
	Ident bool  `json:"ident,omitempty"`
	Want  *Want `json:"want,omitempty"`
	// Unchecked says why a step has no Want although the test gave one.
	Unchecked string `json:"unchecked,omitempty"`
}

// Program is a group of steps on one VM.
type Program struct {
	Name       string `json:"name"` // file:Func#n
	Underscore bool   `json:"underscore,omitempty"`
	Steps      []Step `json:"steps"`
}

// Skipped is a test function, or a group in it, that was left out.
type Skipped struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// Output is the file jsextract writes.
type Output struct {
	Otto     string    `json:"otto"`
	Programs []Program `json:"programs"`
	Skipped  []Skipped `json:"skipped"`
}

func main() {
	out := flag.String("o", "", "output file (default: standard output)")
	flag.Parse()
	dir, version, err := ottoDir()
	if err != nil {
		log.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if err != nil {
		log.Fatal(err)
	}
	slices.Sort(files)
	res := Output{Otto: version}
	for _, f := range files {
		if err := extractFile(f, &res); err != nil {
			log.Fatal(err)
		}
	}
	data, err := json.MarshalIndent(res, "", " ")
	if err != nil {
		log.Fatal(err)
	}
	data = append(data, '\n')
	if *out == "" {
		os.Stdout.Write(data)
		return
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		log.Fatal(err)
	}
	steps := 0
	for _, p := range res.Programs {
		steps += len(p.Steps)
	}
	log.Printf("%d programs (%d steps), %d skipped, from otto %s", len(res.Programs), steps, len(res.Skipped), version)
}

// ottoDir finds otto in the module cache, through this module's go.mod.
func ottoDir() (dir, version string, err error) {
	b, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}} {{.Version}}", "github.com/robertkrimen/otto").Output()
	if err != nil {
		return "", "", fmt.Errorf("locating otto: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return "", "", fmt.Errorf("locating otto: go list said %q", b)
	}
	return f[0], f[1], nil
}

func (w *Want) MarshalJSON() ([]byte, error) {
	type plain Want
	c := plain(*w)
	if c.Kind == "number" {
		c.NumberText = strconv.FormatFloat(w.Number, 'g', -1, 64)
	}
	return json.Marshal(c)
}

func extractFile(path string, res *Output) error {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
	if err != nil {
		return err
	}
	base := filepath.Base(path)
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Body == nil || !strings.HasPrefix(fn.Name.Name, "Test") {
			continue
		}
		name := base + ":" + fn.Name.Name
		if !callsTT(fn.Body) {
			continue // not a test of JavaScript programs
		}
		var tts []*ast.FuncLit
		ok = true
		for _, st := range fn.Body.List {
			lit := ttClosure(st)
			if lit == nil {
				res.Skipped = append(res.Skipped, Skipped{name, fmt.Sprintf("Go code outside tt(...) at line %d", fset.Position(st.Pos()).Line)})
				ok = false
				break
			}
			tts = append(tts, lit)
		}
		if !ok {
			continue
		}
		for i, lit := range tts {
			e := extractor{fset: fset, name: name, n: i}
			if err := e.block(lit.Body, scope{}); err != nil {
				res.Skipped = append(res.Skipped, Skipped{name, err.Error()})
				continue
			}
			res.Programs = append(res.Programs, e.programs...)
		}
	}
	return nil
}

// callsTT reports whether b calls tt anywhere.
func callsTT(b *ast.BlockStmt) bool {
	found := false
	ast.Inspect(b, func(n ast.Node) bool {
		if c, ok := n.(*ast.CallExpr); ok && isIdent(c.Fun, "tt") {
			found = true
		}
		return !found
	})
	return found
}

// ttClosure returns the closure of a statement "tt(t, func() {...})".
func ttClosure(st ast.Stmt) *ast.FuncLit {
	es, ok := st.(*ast.ExprStmt)
	if !ok {
		return nil
	}
	call, ok := es.X.(*ast.CallExpr)
	if !ok || !isIdent(call.Fun, "tt") || len(call.Args) != 2 {
		return nil
	}
	lit, _ := call.Args[1].(*ast.FuncLit)
	return lit
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

type extractor struct {
	fset     *token.FileSet
	name     string
	n        int
	programs []Program
}

// scope says what "test" names in a block: the package function (cur ==
// nil) or a local tester whose steps go to cur.
type scope struct {
	cur *Program
}

func (e *extractor) line(n ast.Node) int { return e.fset.Position(n.Pos()).Line }

func (e *extractor) newProgram(underscore bool) *Program {
	e.programs = append(e.programs, Program{
		Name:       fmt.Sprintf("%s#%d.%d", e.name, e.n, len(e.programs)),
		Underscore: underscore,
	})
	return &e.programs[len(e.programs)-1]
}

// block extracts a block's statements. Programs are kept by pointer into
// e.programs while the block runs, so it is rebuilt as indices.
func (e *extractor) block(b *ast.BlockStmt, sc scope) error {
	var cur = -1 // index in e.programs of the local tester's program
	if sc.cur != nil {
		cur = slices.IndexFunc(e.programs, func(p Program) bool { return p.Name == sc.cur.Name })
	}
	for _, st := range b.List {
		switch st := st.(type) {
		case *ast.BlockStmt:
			var inner scope
			if cur >= 0 {
				inner.cur = &e.programs[cur]
			}
			if err := e.block(st, inner); err != nil {
				return err
			}
		case *ast.AssignStmt:
			// test, _ := test()   or   test := underscoreTest()
			if st.Tok != token.DEFINE || len(st.Rhs) != 1 {
				return fmt.Errorf("its Go code at line %d (an assignment)", e.line(st))
			}
			call, ok := st.Rhs[0].(*ast.CallExpr)
			if !ok || len(call.Args) != 0 {
				return fmt.Errorf("its Go code at line %d (an assignment)", e.line(st))
			}
			switch {
			case isIdent(call.Fun, "test") && len(st.Lhs) == 2 && isIdent(st.Lhs[0], "test") && isIdent(st.Lhs[1], "_"):
				e.newProgram(false)
			case isIdent(call.Fun, "underscoreTest") && len(st.Lhs) == 1 && isIdent(st.Lhs[0], "test"):
				e.newProgram(true)
			default:
				return fmt.Errorf("its Go code at line %d (a tester used from Go, or a value kept in Go)", e.line(st))
			}
			cur = len(e.programs) - 1
		case *ast.DeferStmt:
			// defer mockUTC()() and defer mockTimeLocal(time.UTC)():
			// the harness runs every program with time.Local = UTC.
			if !mocksUTC(st.Call) {
				return fmt.Errorf("its Go code at line %d (a defer)", e.line(st))
			}
		case *ast.ExprStmt:
			call, ok := st.X.(*ast.CallExpr)
			if !ok || !isIdent(call.Fun, "test") || len(call.Args) == 0 || len(call.Args) > 2 {
				return fmt.Errorf("its Go code at line %d (%s)", e.line(st), describe(st.X))
			}
			step, err := e.step(call, cur >= 0)
			if err != nil {
				return err
			}
			if cur >= 0 {
				e.programs[cur].Steps = append(e.programs[cur].Steps, step)
			} else {
				// The package-level test(src): a VM of its own, and
				// nothing checked.
				if step.Want != nil || step.Unchecked != "" {
					step.Want = nil
					step.Unchecked = "otto's package-level test(src, want) does not check want"
				}
				p := e.newProgram(false)
				p.Steps = append(p.Steps, step)
			}
		default:
			return fmt.Errorf("its Go code at line %d (%T)", e.line(st), st)
		}
	}
	return nil
}

// mocksUTC reports whether call is mockUTC()() or
// mockTimeLocal(time.UTC)(): otto's tests that set time.Local to UTC.
func mocksUTC(call *ast.CallExpr) bool {
	inner, ok := call.Fun.(*ast.CallExpr)
	if !ok || len(call.Args) != 0 {
		return false
	}
	if isIdent(inner.Fun, "mockUTC") && len(inner.Args) == 0 {
		return true
	}
	if isIdent(inner.Fun, "mockTimeLocal") && len(inner.Args) == 1 {
		sel, ok := inner.Args[0].(*ast.SelectorExpr)
		return ok && isIdent(sel.X, "time") && sel.Sel.Name == "UTC"
	}
	return false
}

func describe(x ast.Expr) string {
	if c, ok := x.(*ast.CallExpr); ok {
		switch f := c.Fun.(type) {
		case *ast.Ident:
			return "a call of " + f.Name
		case *ast.SelectorExpr:
			if id, ok := f.X.(*ast.Ident); ok {
				return "a call of " + id.Name + "." + f.Sel.Name
			}
		}
	}
	return fmt.Sprintf("%T", x)
}

// step reads test(src) or test(src, want).
func (e *extractor) step(call *ast.CallExpr, local bool) (Step, error) {
	src, ok := stringOf(call.Args[0])
	if !ok {
		return Step{}, fmt.Errorf("a source that is not a string literal at line %d", e.line(call))
	}
	s := Step{Line: e.line(call)}
	if rest, ok := strings.CutPrefix(src, "raise:"); ok {
		s.Raise = true
		src = strings.TrimLeft(rest, " ")
	}
	s.Src = src
	s.Ident = identifier(src)
	if len(call.Args) == 1 {
		return s, nil
	}
	w, why := wantOf(call.Args[1])
	if w == nil {
		s.Unchecked = why
		return s, nil
	}
	if s.Raise {
		if w.Kind != "string" {
			s.Unchecked = "a raise step whose expectation is not a string"
			return s, nil
		}
		w.Kind = "error"
	}
	s.Want = w
	return s, nil
}

// identifier reports whether src is a bare JavaScript identifier, which
// otto's harness reads as a global instead of running.
func identifier(src string) bool {
	if src == "" {
		return false
	}
	for i, r := range src {
		switch {
		case r == '_' || r == '$' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z':
		case i > 0 && '0' <= r && r <= '9':
		default:
			return false
		}
	}
	return true
}

// stringOf evaluates a string literal, or a concatenation of them.
func stringOf(x ast.Expr) (string, bool) {
	switch x := x.(type) {
	case *ast.BasicLit:
		if x.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(x.Value)
		return s, err == nil
	case *ast.BinaryExpr:
		if x.Op != token.ADD {
			return "", false
		}
		a, ok := stringOf(x.X)
		if !ok {
			return "", false
		}
		b, ok := stringOf(x.Y)
		return a + b, ok
	case *ast.ParenExpr:
		return stringOf(x.X)
	}
	return "", false
}

// mathConsts are the constants of package math that otto's tests use as
// expectations.
var mathConsts = map[string]float64{
	"MaxInt32": math.MaxInt32, "MinInt32": math.MinInt32, "MaxUint32": math.MaxUint32,
	"MaxInt64": math.MaxInt64, "MinInt64": math.MinInt64, "MaxInt16": math.MaxInt16,
	"MaxUint16": math.MaxUint16, "MaxInt8": math.MaxInt8, "MaxUint8": math.MaxUint8,
	"Pi": math.Pi, "E": math.E, "MaxFloat64": math.MaxFloat64,
	"SmallestNonzeroFloat64": math.SmallestNonzeroFloat64, "Sqrt2": math.Sqrt2,
	"Ln2": math.Ln2, "Ln10": math.Ln10, "Log2E": math.Log2E, "Log10E": math.Log10E,
}

// wantOf reads an expectation, or says why it cannot.
func wantOf(x ast.Expr) (*Want, string) {
	if s, ok := stringOf(x); ok {
		return &Want{Kind: "string", String: s}, ""
	}
	switch x := x.(type) {
	case *ast.Ident:
		switch x.Name {
		case "true", "false":
			return &Want{Kind: "bool", Bool: x.Name == "true"}, ""
		case "nil":
			return &Want{Kind: "nullish"}, ""
		case "naN": // math_test.go: naN = math.NaN()
			return &Want{Kind: "number", Number: math.NaN()}, ""
		case "infinity": // math_test.go: infinity = math.Inf(1)
			return &Want{Kind: "number", Number: math.Inf(1)}, ""
		}
		return nil, fmt.Sprintf("the expectation is the Go variable %s", x.Name)
	case *ast.CallExpr:
		if sel, ok := x.Fun.(*ast.SelectorExpr); ok && isIdent(sel.X, "math") {
			switch {
			case sel.Sel.Name == "NaN" && len(x.Args) == 0:
				return &Want{Kind: "number", Number: math.NaN()}, ""
			case sel.Sel.Name == "Inf" && len(x.Args) == 1:
				if w, _ := wantOf(x.Args[0]); w != nil && w.Kind == "number" {
					return &Want{Kind: "number", Number: math.Inf(int(w.Number))}, ""
				}
			}
		}
		if len(x.Args) == 1 { // a conversion: float64(1), int64(-2)
			if id, ok := x.Fun.(*ast.Ident); ok && strings.HasPrefix(id.Name, "int") || ok && strings.HasPrefix(id.Name, "float") || ok && strings.HasPrefix(id.Name, "uint") {
				return wantOf(x.Args[0])
			}
		}
	case *ast.SelectorExpr:
		if isIdent(x.X, "math") {
			if v, ok := mathConsts[x.Sel.Name]; ok {
				return &Want{Kind: "number", Number: v}, ""
			}
		}
	case *ast.UnaryExpr:
		if x.Op == token.SUB {
			if w, _ := wantOf(x.X); w != nil && w.Kind == "number" {
				w.Number = -w.Number
				return w, ""
			}
		}
	}
	// A constant expression of literals: 3, 1.5, 1 << 31, -0.5.
	var b strings.Builder
	if err := formatExpr(&b, x); err == nil {
		tv, err := types.Eval(token.NewFileSet(), nil, token.NoPos, b.String())
		if err == nil && tv.Value != nil {
			switch tv.Value.Kind() {
			case constant.Int, constant.Float:
				f, _ := constant.Float64Val(constant.ToFloat(tv.Value))
				return &Want{Kind: "number", Number: f}, ""
			case constant.Bool:
				return &Want{Kind: "bool", Bool: constant.BoolVal(tv.Value)}, ""
			}
		}
	}
	return nil, fmt.Sprintf("the expectation is Go code (%T)", x)
}

// formatExpr writes a literal-only expression back as Go source.
func formatExpr(b *strings.Builder, x ast.Expr) error {
	switch x := x.(type) {
	case *ast.BasicLit:
		b.WriteString(x.Value)
	case *ast.ParenExpr:
		b.WriteByte('(')
		if err := formatExpr(b, x.X); err != nil {
			return err
		}
		b.WriteByte(')')
	case *ast.UnaryExpr:
		b.WriteString(x.Op.String())
		return formatExpr(b, x.X)
	case *ast.BinaryExpr:
		if err := formatExpr(b, x.X); err != nil {
			return err
		}
		b.WriteString(" " + x.Op.String() + " ")
		return formatExpr(b, x.Y)
	default:
		return fmt.Errorf("not a literal: %T", x)
	}
	return nil
}
