// Package loopcheck finds the loops that Go's scheduler cannot stop when
// its asynchronous preemption is off.
//
// With GODEBUG=asyncpreemptoff=1 a goroutine gives up its P only at a
// function call's stack check, a blocking operation or a yield. A loop that
// waits for another goroutine (for !quit.Load() { safepoint.Poll(th) }) and
// makes no such call keeps its P for ever once the collector asks every P
// to stop: the collector waits for it, and whatever the loop waits for is
// stopped by the collector. Poll inlines to a load and a compare, so a
// guest loop whose only safepoint is Poll is such a loop (docs/design.md,
// "Running without Go's preemption").
//
// Check compiles a module's packages and their tests with the compiler's
// inlining report (-gcflags=-m), type-checks every file against the export
// data of that build, and reports each loop that
//
//   - may wait: it has no condition, or its condition, body or post
//     statement reads what other goroutines write (a sync/atomic
//     operation, the length of a channel), directly or in a function of
//     the module that the compiler inlined there (safepoint.Poll reads
//     the thread's word), so that another goroutine can be what ends it;
//     and
//   - has no preemption point: no call that the compiler left a real call
//     (builtins, conversions and sync/atomic's intrinsics are not calls;
//     an inlined call counts only if what it inlines makes one, as
//     runtime.Gosched does), no channel operation, select, go or defer.
//
// Range loops and counted loops (for i := 0; i < n; i++: the condition
// reads a variable the loop declares) end by themselves and are not
// checked. A loop that spins without a call on
// purpose is accepted where the function around it skips under
// asyncpreemptoff (it calls testenv.NeedsAsyncPreemption or
// testenv.AsyncPreemptOff), or where a comment on the loop's line, or the
// line above it, says "loopcheck:ok" followed by the reason.
//
// The check errs on the side of reporting: an inlined call into another
// module or the standard library is taken to make no call unless it is
// known to schedule (runtime.Gosched), and a call to one of the module's
// own functions that is a leaf without a stack check (//go:nosplit, or
// //go:noinline with no call inside) is not a preemption point either.
package loopcheck

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// A Finding is a loop that may wait without a preemption point.
type Finding struct {
	Pos  token.Position // the for keyword
	Func string         // the function the loop is in
	Line string         // the loop's first line, trimmed
}

func (f Finding) String() string {
	return fmt.Sprintf("%s: in %s, %q waits without a call that Go can preempt at", f.Pos, f.Func, f.Line)
}

// Exempt is the comment that accepts a loop without a preemption point;
// the reason follows it on the same line.
const Exempt = "loopcheck:ok"

// Check reports the loops of the module rooted at dir (every package and
// test file that the build tags select) that may wait without a
// preemption point, sorted by position. goTool is the go command; tags
// are passed to -tags. An error means the module could not be built or
// type-checked, never that a loop was found.
func Check(goTool, dir string, tags ...string) ([]Finding, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	pkgs, reports, err := list(goTool, dir, tags)
	if err != nil {
		return nil, err
	}
	c := &checker{fset: token.NewFileSet(), reports: reports, funcs: map[string]*funcInfo{}, memo: map[string]int{}, shared: map[string]int{}}
	exports := map[string]string{}
	for _, p := range pkgs {
		exports[p.ImportPath] = p.Export
	}
	// A file belongs to the package and to its test variant: check it once,
	// in the test variant, which sees the test files too.
	slices.SortStableFunc(pkgs, func(a, b *listedPackage) int {
		return boolInt(a.ForTest == "") - boolInt(b.ForTest == "")
	})
	walked := map[string]bool{}
	var units []*unit
	for _, p := range pkgs {
		if p.Module == nil || !p.Module.Main || strings.HasSuffix(p.ImportPath, ".test") {
			continue
		}
		var files []string
		for _, f := range p.GoFiles {
			files = append(files, filepath.Join(p.Dir, f))
		}
		u, err := c.typeCheck(p, files, exports)
		if err != nil {
			return nil, err
		}
		// A package is type-checked whole, but only the files no earlier
		// unit walks are walked here.
		u.walk = map[*ast.File]bool{}
		for i, f := range u.files {
			if !walked[files[i]] {
				walked[files[i]] = true
				u.walk[f] = true
			}
		}
		units = append(units, u)
	}
	for _, u := range units {
		c.index(u)
	}
	var findings []Finding
	for _, u := range units {
		findings = append(findings, c.loops(u)...)
	}
	slices.SortFunc(findings, func(a, b Finding) int {
		if a.Pos.Filename != b.Pos.Filename {
			return strings.Compare(a.Pos.Filename, b.Pos.Filename)
		}
		return a.Pos.Line - b.Pos.Line
	})
	return findings, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// listedPackage is what go list says of a package.
type listedPackage struct {
	ImportPath string
	Name       string
	Dir        string
	GoFiles    []string
	Export     string
	ImportMap  map[string]string
	ForTest    string
	Module     *struct{ Main bool }
	Error      *struct{ Err string }
}

// report matches the compiler's reports of an inlined call and of a value
// that escapes to the heap (a make, new or &T{} that calls the allocator).
var report = regexp.MustCompile(`^(.+\.go):(\d+):(\d+): (?:(inlining call to) .+|.+ (escapes to heap))$`)

// reports is what the compiler said of a build: where it inlined a call,
// and where an allocation escapes to the heap (a call of the allocator,
// which has a stack check).
type reports struct {
	inlined, escapes map[position]bool
}

// list builds the module's packages and tests and returns them with the
// compiler's reports.
func list(goTool, dir string, tags []string) ([]*listedPackage, reports, error) {
	args := []string{"list", "-test", "-export", "-deps", "-gcflags=-m",
		"-json=ImportPath,Name,Dir,GoFiles,Export,ImportMap,ForTest,Module,Error"}
	if len(tags) > 0 {
		args = append(args, "-tags="+strings.Join(tags, ","))
	}
	args = append(args, "./...")
	cmd := exec.Command(goTool, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, reports{}, fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, withoutReports(stderr.Bytes()))
	}
	var pkgs []*listedPackage
	for dec := json.NewDecoder(&stdout); ; {
		p := new(listedPackage)
		if err := dec.Decode(p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, reports{}, fmt.Errorf("go list's output: %v", err)
		}
		if p.Error != nil {
			return nil, reports{}, fmt.Errorf("go list: %s: %s", p.ImportPath, p.Error.Err)
		}
		pkgs = append(pkgs, p)
	}
	r := reports{inlined: map[position]bool{}, escapes: map[position]bool{}}
	sc := bufio.NewScanner(&stderr)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		m := report.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		file := m[1]
		if !filepath.IsAbs(file) {
			file = filepath.Join(dir, file)
		}
		line, _ := strconv.Atoi(m[2]) // the pattern admits digits only
		col, _ := strconv.Atoi(m[3])
		if m[4] != "" {
			r.inlined[position{file, line, col}] = true
		} else {
			r.escapes[position{file, line, col}] = true
		}
	}
	return pkgs, r, sc.Err()
}

// withoutReports drops the compiler's -m reports from go's error output,
// leaving the errors.
func withoutReports(out []byte) []byte {
	var b bytes.Buffer
	for line := range bytes.Lines(out) {
		if bytes.Contains(line, []byte(": inlining call to ")) || bytes.Contains(line, []byte(": can inline ")) ||
			bytes.Contains(line, []byte("escape")) || bytes.Contains(line, []byte("leaking param")) ||
			bytes.Contains(line, []byte("does not escape")) || bytes.Contains(line, []byte("moved to heap")) {
			continue
		}
		b.Write(line)
	}
	return b.Bytes()
}

// position is a place in a source file as the compiler reports it.
type position struct {
	file      string
	line, col int
}

// A unit is one type-checked package.
type unit struct {
	pkg   *types.Package
	info  *types.Info
	files []*ast.File
	walk  map[*ast.File]bool // the files whose loops this unit reports
}

// funcInfo is one of the module's functions, for looking into the calls
// the compiler inlined and for telling leaves from real calls.
type funcInfo struct {
	decl *ast.FuncDecl
	u    *unit
}

type checker struct {
	fset    *token.FileSet
	reports reports
	funcs   map[string]*funcInfo // by types.Func.FullName
	memo    map[string]int       // makesCall's answers: 1 no, 2 yes, 3 in progress
	shared  map[string]int       // inlinedReadsShared's answers, the same way
}

func (c *checker) typeCheck(p *listedPackage, paths []string, exports map[string]string) (*unit, error) {
	var files []*ast.File
	for _, path := range paths {
		f, err := parser.ParseFile(c.fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	lookup := func(path string) (io.ReadCloser, error) {
		if mapped, ok := p.ImportMap[path]; ok {
			path = mapped
		}
		export, ok := exports[path]
		if !ok || export == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(export)
	}
	conf := types.Config{Importer: importer.ForCompiler(c.fset, "gc", lookup)}
	info := &types.Info{
		Types:      map[ast.Expr]types.TypeAndValue{},
		Uses:       map[*ast.Ident]types.Object{},
		Defs:       map[*ast.Ident]types.Object{},
		Selections: map[*ast.SelectorExpr]*types.Selection{},
	}
	pkg, err := conf.Check(p.ImportPath, c.fset, files, info)
	if err != nil {
		return nil, fmt.Errorf("type-checking %s: %v", p.ImportPath, err)
	}
	return &unit{pkg: pkg, info: info, files: files}, nil
}

// index records the unit's function declarations by full name.
func (c *checker) index(u *unit) {
	for _, f := range u.files {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			if fn, ok := u.info.Defs[fd.Name].(*types.Func); ok {
				if _, dup := c.funcs[fn.FullName()]; !dup {
					c.funcs[fn.FullName()] = &funcInfo{decl: fd, u: u}
				}
			}
		}
	}
}

// loops reports the unit's loops that may wait without a preemption point.
func (c *checker) loops(u *unit) []Finding {
	var out []Finding
	for _, f := range u.files {
		if !u.walk[f] {
			continue
		}
		exempt := exemptLines(c.fset, f)
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			skips := skipsWithoutPreemption(u, fd.Body)
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				loop, ok := n.(*ast.ForStmt)
				if !ok || counted(u, loop) {
					return true
				}
				if !c.mayWait(u, loop) || c.preemptible(u, loop) {
					return true
				}
				pos := c.fset.Position(loop.For)
				if skips || exempt[pos.Line] || exempt[pos.Line-1] {
					return true
				}
				out = append(out, Finding{Pos: pos, Func: fd.Name.Name, Line: sourceLine(pos)})
				return true
			})
		}
	}
	return out
}

func sourceLine(pos token.Position) string {
	b, err := os.ReadFile(pos.Filename)
	if err != nil {
		return ""
	}
	lines := strings.Split(string(b), "\n")
	if pos.Line-1 < len(lines) {
		return strings.TrimSpace(lines[pos.Line-1])
	}
	return ""
}

// exemptLines returns the lines of f that hold an Exempt comment with a
// reason.
func exemptLines(fset *token.FileSet, f *ast.File) map[int]bool {
	lines := map[int]bool{}
	for _, g := range f.Comments {
		for _, cm := range g.List {
			_, reason, ok := strings.Cut(cm.Text, Exempt)
			if ok && strings.TrimSpace(strings.Trim(reason, ":-*/ ")) != "" {
				lines[fset.Position(cm.Slash).Line] = true
			}
		}
	}
	return lines
}

// skipsWithoutPreemption reports whether body calls the testenv helpers
// that skip a test, or tell it, when asynchronous preemption is off.
func skipsWithoutPreemption(u *unit, body *ast.BlockStmt) bool {
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return !found
		}
		if fn := callee(u, call); fn != nil && fn.Pkg() != nil &&
			strings.HasSuffix(fn.Pkg().Path(), "/internal/testenv") &&
			(fn.Name() == "NeedsAsyncPreemption" || fn.Name() == "AsyncPreemptOff") {
			found = true
		}
		return !found
	})
	return found
}

// counted reports whether loop is for v := …; cond on v; …: a counted
// loop, which ends by itself.
func counted(u *unit, loop *ast.ForStmt) bool {
	init, ok := loop.Init.(*ast.AssignStmt)
	if !ok || init.Tok != token.DEFINE || loop.Cond == nil {
		return false
	}
	vars := map[types.Object]bool{}
	for _, lhs := range init.Lhs {
		if id, ok := lhs.(*ast.Ident); ok {
			if obj := u.info.Defs[id]; obj != nil {
				vars[obj] = true
			}
		}
	}
	uses := false
	ast.Inspect(loop.Cond, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && vars[u.info.Uses[id]] {
			uses = true
		}
		return !uses
	})
	return uses
}

// mayWait reports whether another goroutine can be what ends the loop:
// it has no condition, or it reads memory that others write (an atomic
// operation, the length of a channel), itself or in what it inlines.
func (c *checker) mayWait(u *unit, loop *ast.ForStmt) bool {
	if loop.Cond == nil {
		return true
	}
	for _, n := range []ast.Node{loop.Cond, loop.Post, loop.Body} {
		if n != nil && !isNil(n) && c.readsShared(u, n) {
			return true
		}
	}
	return false
}

// readsShared reports whether n reads memory that other goroutines write.
func (c *checker) readsShared(u *unit, n ast.Node) bool {
	found := false
	ast.Inspect(n, func(n ast.Node) bool {
		if found {
			return false
		}
		call, ok := n.(*ast.CallExpr)
		if !ok {
			_, lit := n.(*ast.FuncLit)
			return !lit
		}
		switch builtin(u, call) {
		case "len", "cap":
			if t, ok := u.info.Types[call.Args[0]]; ok {
				if _, ok := t.Type.Underlying().(*types.Chan); ok {
					found = true
				}
			}
			return true
		case "":
		default:
			return true
		}
		fn := callee(u, call)
		if fn == nil || fn.Pkg() == nil {
			return true
		}
		if intrinsics[fn.Pkg().Path()] && fn.Pkg().Path() != "math/bits" {
			found = true
		} else if fi, ok := c.funcs[fn.Origin().FullName()]; ok && c.reports.inlined[c.position(call.Lparen)] {
			found = c.inlinedReadsShared(fn.Origin().FullName(), fi)
		}
		return !found
	})
	return found
}

// inlinedReadsShared is readsShared of a module function's body, for the
// calls the compiler inlined (an inlined Poll reads the thread's word).
func (c *checker) inlinedReadsShared(name string, fi *funcInfo) bool {
	switch c.shared[name] {
	case 1, 3:
		return false
	case 2:
		return true
	}
	c.shared[name] = 3
	yes := c.readsShared(fi.u, fi.decl.Body)
	c.shared[name] = 1 + boolInt(yes)
	return yes
}

func isNil(n ast.Node) bool {
	switch n := n.(type) {
	case ast.Stmt:
		return n == nil
	case ast.Expr:
		return n == nil
	}
	return false
}

// preemptible reports whether the loop has a preemption point.
func (c *checker) preemptible(u *unit, loop *ast.ForStmt) bool {
	var parts []ast.Node
	if loop.Cond != nil {
		parts = append(parts, loop.Cond)
	}
	if loop.Post != nil {
		parts = append(parts, loop.Post)
	}
	parts = append(parts, loop.Body)
	for _, n := range parts {
		if c.hasPoint(u, n) {
			return true
		}
	}
	return false
}

// hasPoint reports whether n, run, passes a point where Go's scheduler
// can take the P away without asynchronous preemption.
func (c *checker) hasPoint(u *unit, n ast.Node) bool {
	found := false
	ast.Inspect(n, func(n ast.Node) bool {
		if found {
			return false
		}
		switch n := n.(type) {
		case *ast.FuncLit:
			return false // runs only if called, which is a call of its own
		case *ast.SendStmt, *ast.SelectStmt, *ast.GoStmt, *ast.DeferStmt:
			found = true
		case *ast.UnaryExpr:
			if n.Op == token.ARROW {
				found = true
			}
			if lit, ok := n.X.(*ast.CompositeLit); ok && n.Op == token.AND &&
				(c.reports.escapes[c.position(n.OpPos)] || c.reports.escapes[c.position(lit.Lbrace)]) {
				found = true // &T{} on the heap: a call of the allocator
			}
		case *ast.RangeStmt:
			if t, ok := u.info.Types[n.X]; ok {
				if _, ok := t.Type.Underlying().(*types.Chan); ok {
					found = true
				}
			}
		case *ast.CallExpr:
			if c.isPoint(u, n) {
				found = true
			}
		}
		return !found
	})
	return found
}

// intrinsics are the packages whose functions the compiler turns into
// instructions, not calls.
var intrinsics = map[string]bool{
	"sync/atomic": true, "math/bits": true, "unsafe": true,
	"internal/runtime/atomic": true, "internal/runtime/sys": true,
}

// schedulers are the inlinable functions whose inlined bodies still reach
// the scheduler, where the checker cannot see it: functions of other
// modules (runtime.Gosched), and this project's coroutine switch as seen
// from a contrib module, which is another module there (Suspender.Yield
// switches goroutines through an indirect call).
var schedulers = map[string]bool{
	"runtime.Gosched": true,
	"(*github.com/coopsuspend/coopsuspend/coroutine.Suspender[P, Y]).Yield": true,
}

// isPoint reports whether call is a preemption point.
func (c *checker) isPoint(u *unit, call *ast.CallExpr) bool {
	switch builtin(u, call) {
	case "":
	case "make", "new":
		return c.reports.escapes[c.position(call.Lparen)] // the allocator, not the stack
	default:
		return false
	}
	if conversion(u, call) {
		return false
	}
	fn := callee(u, call)
	if c.reports.inlined[c.position(call.Lparen)] {
		if lit, ok := ast.Unparen(call.Fun).(*ast.FuncLit); ok {
			return c.hasPoint(u, lit.Body)
		}
		if fn == nil {
			return false
		}
		name := fn.Origin().FullName()
		if schedulers[name] {
			return true
		}
		return c.makesCall(name)
	}
	if fn == nil {
		return true // a call through a func value or an interface
	}
	if fn.Pkg() != nil && intrinsics[fn.Pkg().Path()] {
		return false
	}
	if fi, ok := c.funcs[fn.Origin().FullName()]; ok && leafWithoutCheck(fi) {
		return false
	}
	return true
}

// makesCall reports whether the body of one of the module's functions,
// inlined somewhere, passes a preemption point whenever it runs.
// Functions of other modules are taken to pass none.
func (c *checker) makesCall(name string) bool {
	switch c.memo[name] {
	case 1, 3:
		return false
	case 2:
		return true
	}
	fi, ok := c.funcs[name]
	if !ok {
		c.memo[name] = 1
		return false
	}
	c.memo[name] = 3
	yes := false
	for _, st := range fi.decl.Body.List {
		if c.unconditionalPoint(fi.u, st) {
			yes = true
			break
		}
	}
	c.memo[name] = 1 + boolInt(yes)
	return yes
}

// unconditionalPoint reports whether st passes a preemption point
// whenever it runs: it is not a branch or a loop, which may skip theirs
// (Poll calls its slow path only when a stop asks it to, so an inlined
// Poll is no preemption point).
func (c *checker) unconditionalPoint(u *unit, st ast.Stmt) bool {
	switch st := st.(type) {
	case *ast.IfStmt:
		return st.Init != nil && c.hasPoint(u, st.Init) || c.hasPoint(u, st.Cond)
	case *ast.SwitchStmt:
		return st.Init != nil && c.hasPoint(u, st.Init) || st.Tag != nil && c.hasPoint(u, st.Tag)
	case *ast.TypeSwitchStmt:
		return st.Init != nil && c.hasPoint(u, st.Init) || c.hasPoint(u, st.Assign)
	case *ast.ForStmt:
		return st.Init != nil && c.hasPoint(u, st.Init) || st.Cond != nil && c.hasPoint(u, st.Cond)
	case *ast.RangeStmt:
		return c.hasPoint(u, st.X)
	case *ast.BlockStmt:
		for _, s := range st.List {
			if c.unconditionalPoint(u, s) {
				return true
			}
		}
		return false
	case *ast.LabeledStmt:
		return c.unconditionalPoint(u, st.Stmt)
	}
	return c.hasPoint(u, st)
}

// leafWithoutCheck reports whether a non-inlined call to fi reaches no
// stack check: fi is //go:nosplit, or it is //go:noinline and calls
// nothing (the compiler drops the stack check of a small leaf).
func leafWithoutCheck(fi *funcInfo) bool {
	var noinline bool
	if fi.decl.Doc != nil {
		for _, cm := range fi.decl.Doc.List {
			switch strings.TrimSpace(cm.Text) {
			case "//go:nosplit":
				return true
			case "//go:noinline":
				noinline = true
			}
		}
	}
	if !noinline {
		return false
	}
	calls := false
	ast.Inspect(fi.decl.Body, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok && !conversion(fi.u, call) && builtin(fi.u, call) == "" {
			calls = true
		}
		switch n.(type) {
		case *ast.SendStmt, *ast.SelectStmt, *ast.GoStmt, *ast.DeferStmt:
			calls = true
		}
		return !calls
	})
	return !calls
}

func (c *checker) position(p token.Pos) position {
	pos := c.fset.Position(p)
	return position{pos.Filename, pos.Line, pos.Column}
}

func conversion(u *unit, call *ast.CallExpr) bool {
	t, ok := u.info.Types[call.Fun]
	return ok && t.IsType()
}

func builtin(u *unit, call *ast.CallExpr) string {
	if id, ok := ast.Unparen(call.Fun).(*ast.Ident); ok {
		if b, ok := u.info.Uses[id].(*types.Builtin); ok {
			return b.Name()
		}
	}
	return ""
}

// callee returns the function or method a call names statically, or nil.
func callee(u *unit, call *ast.CallExpr) *types.Func {
	fun := ast.Unparen(call.Fun)
	if ix, ok := fun.(*ast.IndexExpr); ok { // an instantiation: f[T](x)
		fun = ix.X
	} else if ix, ok := fun.(*ast.IndexListExpr); ok {
		fun = ix.X
	}
	switch f := fun.(type) {
	case *ast.Ident:
		fn, _ := u.info.Uses[f].(*types.Func)
		return fn
	case *ast.SelectorExpr:
		if sel, ok := u.info.Selections[f]; ok {
			if sel.Kind() == types.MethodVal {
				fn, _ := sel.Obj().(*types.Func)
				if fn != nil && types.IsInterface(sel.Recv()) {
					return nil // dynamic
				}
				return fn
			}
			return nil // a field holding a func
		}
		fn, _ := u.info.Uses[f.Sel].(*types.Func) // a qualified identifier
		return fn
	}
	return nil
}
