package readme_test

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// snippet is one ```go block of the README and the heading it sits under.
type snippet struct {
	section string
	lines   []string
}

func readmeSnippets(t *testing.T) []snippet {
	t.Helper()
	f, err := os.Open("../../README.md")
	require.NoError(t, err)
	defer func() {
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	}()
	var out []snippet
	var section string
	var cur *snippet
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case cur != nil && line == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.lines = append(cur.lines, line)
		case line == "```go":
			cur = &snippet{section: section}
		case strings.HasPrefix(line, "## "):
			section = strings.TrimPrefix(line, "## ")
		}
	}
	require.NoError(t, sc.Err())
	require.Nil(t, cur, "an unterminated ```go block in README.md")
	return out
}

// key names a snippet in snippets_test.go: its section, and "imports"
// after it for a block that is the section's import declaration.
func (s snippet) key() string {
	if len(s.lines) > 0 && s.lines[0] == "import (" {
		return s.section + ", imports"
	}
	return s.section
}

// copied returns the lines of snippets_test.go between "// README: key"
// and "// README: end". A marker inside a function body is indented; the
// body's indentation is removed from the lines it encloses.
func copied(t *testing.T, key string) ([]string, bool) {
	t.Helper()
	src, err := os.ReadFile("snippets_test.go")
	require.NoError(t, err)
	var lines []string
	in, found, indented := false, false, false
	for _, line := range strings.Split(string(src), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "// README: "+key:
			in, found, indented = true, true, trimmed != line
		case in && trimmed == "// README: end":
			for len(lines) > 0 && lines[len(lines)-1] == "" {
				lines = lines[:len(lines)-1] // gofmt's blank line before a top-level comment
			}
			return lines, true
		case in && indented:
			lines = append(lines, strings.TrimPrefix(line, "\t"))
		case in:
			lines = append(lines, line)
		}
	}
	return nil, found && !in
}

// TestSnippetsAreInTheREADME: every Go block of the README is the code
// that snippets_test.go compiles, line for line.
func TestSnippetsAreInTheREADME(t *testing.T) {
	snippets := readmeSnippets(t)
	require.NotEmpty(t, snippets, "README.md has no ```go block")
	for _, s := range snippets {
		got, ok := copied(t, s.key())
		if !assert.True(t, ok, "snippets_test.go has no compiled copy of the README's block %q", s.key()) {
			continue
		}
		assert.Equal(t, strings.Join(s.lines, "\n"), strings.Join(got, "\n"),
			"the README's block %q and its compiled copy in snippets_test.go differ", s.key())
	}
}
