module github.com/coopsuspend/coopsuspend/contrib/starlark

go 1.26.0

require github.com/coopsuspend/coopsuspend v0.0.0

require pgregory.net/rapid v1.3.0 // indirect

require (
	go.starlark.net v0.0.0-20260908191801-89a6a09411d5
	golang.org/x/sys v0.49.0 // indirect
)

replace github.com/coopsuspend/coopsuspend => ../..
