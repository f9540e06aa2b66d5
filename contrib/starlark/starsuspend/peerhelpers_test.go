package starsuspend_test

import (
	"fmt"
	"sort"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// hasfields and fib are the application-defined values starlark's test
// files expect (defined in its eval_test.go, which cannot be imported):
// a value with settable fields, and the infinite Fibonacci iterable.
type hasfields struct {
	attrs  starlark.StringDict
	frozen bool
}

func newHasFields(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args)+len(kwargs) > 0 {
		return nil, fmt.Errorf("%s: unexpected arguments", b.Name())
	}
	return &hasfields{attrs: make(starlark.StringDict)}, nil
}

func (hf *hasfields) String() string        { return "hasfields" }
func (hf *hasfields) Type() string          { return "hasfields" }
func (hf *hasfields) Truth() starlark.Bool  { return true }
func (hf *hasfields) Hash() (uint32, error) { return 42, nil }
func (hf *hasfields) Freeze() {
	if !hf.frozen {
		hf.frozen = true
		for _, v := range hf.attrs {
			v.Freeze()
		}
	}
}
func (hf *hasfields) Attr(name string) (starlark.Value, error) { return hf.attrs[name], nil }
func (hf *hasfields) SetField(name string, val starlark.Value) error {
	if hf.frozen {
		return fmt.Errorf("cannot set field on a frozen hasfields")
	}
	if strings.HasPrefix(name, "no") { // the files test a refused field
		return starlark.NoSuchAttrError(fmt.Sprintf("no .%s field", name))
	}
	hf.attrs[name] = val
	return nil
}
func (hf *hasfields) AttrNames() []string {
	names := make([]string, 0, len(hf.attrs))
	for k := range hf.attrs {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Binary defines list + hasfields, for list.star's 'list += x' where x
// is not iterable.
func (hf *hasfields) Binary(op syntax.Token, y starlark.Value, _ starlark.Side) (starlark.Value, error) {
	if _, ok := y.(*starlark.List); ok && op == syntax.PLUS {
		return starlark.MakeInt(42), nil
	}
	return nil, nil
}

type fib struct{}

func (fib) Freeze()                    {}
func (fib) String() string             { return "fib" }
func (fib) Type() string               { return "fib" }
func (fib) Truth() starlark.Bool       { return true }
func (fib) Hash() (uint32, error)      { return 0, fmt.Errorf("fib is unhashable") }
func (fib) Iterate() starlark.Iterator { return &fibIterator{0, 1} }

type fibIterator struct{ x, y int }

func (it *fibIterator) Next(p *starlark.Value) bool {
	*p = starlark.MakeInt(it.x)
	it.x, it.y = it.y, it.x+it.y
	return true
}
func (*fibIterator) Done() {}
