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

// copied returns the lines of snippets_test.go between "// README:
// section" and "// README: end", with the function body's indentation
// removed.
func copied(t *testing.T, section string) ([]string, bool) {
	t.Helper()
	src, err := os.ReadFile("snippets_test.go")
	require.NoError(t, err)
	var lines []string
	in, found := false, false
	for _, line := range strings.Split(string(src), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "// README: "+section:
			in, found = true, true
		case in && trimmed == "// README: end":
			return lines, true
		case in:
			lines = append(lines, strings.TrimPrefix(line, "\t"))
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
		got, ok := copied(t, s.section)
		if !assert.True(t, ok, "snippets_test.go has no compiled copy of the README's block under %q", s.section) {
			continue
		}
		assert.Equal(t, strings.Join(s.lines, "\n"), strings.Join(got, "\n"),
			"the README's block under %q and its compiled copy in snippets_test.go differ", s.section)
	}
}
