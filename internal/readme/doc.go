// Package readme holds the README's Go snippets in compiled test code.
//
// The README shows code a newcomer copies first, so it must compile against
// the current API. Each ```go block of README.md is kept verbatim in
// snippets_test.go, inside a function that declares what the snippet takes
// from the embedder's program (a dispatch loop, a connection, a collector),
// between the markers "// README: <section>" and "// README: end", where
// <section> is the heading the block sits under. TestSnippetsAreInTheREADME
// fails when a block and its copy differ, so an API change that breaks a
// snippet fails to compile here, and an edit of the README that is not
// made here too fails the test.
package readme
