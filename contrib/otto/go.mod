module github.com/coopsuspend/coopsuspend/contrib/otto

go 1.26.0

require (
	github.com/coopsuspend/coopsuspend v0.0.0
	github.com/robertkrimen/otto v0.5.1
)

require (
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.4.0 // indirect
	gopkg.in/sourcemap.v1 v1.0.5 // indirect
	pgregory.net/rapid v1.3.0 // indirect
)

replace github.com/coopsuspend/coopsuspend => ../..
