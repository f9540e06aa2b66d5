module github.com/coopsuspend/coopsuspend/contrib/gopherlua

go 1.26.0

require (
	github.com/coopsuspend/coopsuspend v0.0.0
	github.com/yuin/gopher-lua v1.1.2
)

require (
	golang.org/x/sys v0.49.0 // indirect
	pgregory.net/rapid v1.3.0 // indirect
)

replace github.com/coopsuspend/coopsuspend => ../..
