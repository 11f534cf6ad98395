package scan

import (
	"path"
	"strings"
)

// syntax describes one language family well enough to find its string literals and skip its
// comments. It is a tokenizer, not a parser: enough to see `x == "lit"`, `case "lit":` and calls.
type syntax struct {
	lineComments []string // "//", "#"
	blockOpen    string   // "/*"
	blockClose   string   // "*/"
	quotes       string   // characters that open a string literal
	multiline    string   // quotes whose literals may span lines (Go raw strings, JS templates)
	rawBacktick  bool     // Go: backslash is not an escape inside `...`
	triple       bool     // Python ''' and """ literals
	identExtra   string   // characters allowed in identifiers besides letters, digits and _
	hashAttr     bool     // PHP: "#[" starts an attribute, not a comment
	config       bool     // config file: no code, every line's uncommented text is one literal
}

var (
	cFamily = &syntax{lineComments: []string{"//"}, blockOpen: "/*", blockClose: "*/",
		quotes: "\"'`", multiline: "`", identExtra: "$"}
	goSyntax = &syntax{lineComments: []string{"//"}, blockOpen: "/*", blockClose: "*/",
		quotes: "\"'`", multiline: "`", rawBacktick: true}
	pythonSyntax = &syntax{lineComments: []string{"#"}, quotes: "\"'", triple: true}
	rubySyntax   = &syntax{lineComments: []string{"#"}, quotes: "\"'"}
	phpSyntax    = &syntax{lineComments: []string{"//", "#"}, blockOpen: "/*", blockClose: "*/",
		quotes: "\"'`", identExtra: "$", hashAttr: true}
	configSyntax = &syntax{config: true}
)

// languages maps a file extension to its syntax; files with other extensions are not read.
// Config files are also checked by name (scan/per-env-file).
var languages = map[string]*syntax{
	".go": goSyntax, ".java": cFamily, ".kt": cFamily, ".kts": cFamily, ".scala": cFamily,
	".groovy": cFamily, ".cs": cFamily, ".swift": cFamily, ".c": cFamily, ".h": cFamily,
	".cc": cFamily, ".cpp": cFamily, ".hpp": cFamily, ".rs": cFamily, ".dart": cFamily,
	".js": cFamily, ".jsx": cFamily, ".mjs": cFamily, ".cjs": cFamily, ".ts": cFamily,
	".tsx": cFamily, ".mts": cFamily, ".cts": cFamily, ".vue": cFamily,
	".py": pythonSyntax, ".pyi": pythonSyntax,
	".rb":   rubySyntax,
	".php":  phpSyntax,
	".yaml": configSyntax, ".yml": configSyntax, ".properties": configSyntax, ".toml": configSyntax,
	".ini": configSyntax, ".conf": configSyntax, ".cfg": configSyntax, ".xml": configSyntax,
	".json": configSyntax, ".env": configSyntax,
}

// syntaxFor picks the syntax of a file by its name; nil means "do not read the content".
func syntaxFor(name string) *syntax {
	base := path.Base(name)
	if base == ".env" || strings.HasPrefix(base, ".env.") {
		return configSyntax
	}
	return languages[strings.ToLower(path.Ext(base))]
}

type tokKind uint8

const (
	tIdent tokKind = iota
	tString
	tOp    // operators and punctuation other than brackets
	tOpen  // ( [ {
	tClose // ) ] }
)

// token is one lexical element: src[off:end] is its text. For strings that is the content between
// the quotes (escapes kept). Files are at most maxFileSize bytes, so int32 offsets suffice and a
// token takes 12 bytes: lexing allocates little even on large trees.
type token struct {
	off, end int32
	kind     tokKind
}

func (t token) text(src string) string { return src[t.off:t.end] }

func tok(kind tokKind, off, end int) token {
	return token{off: int32(off), end: int32(end), kind: kind}
}

// ops are the multi-character operators the scanner needs to see whole, longest first.
var ops = []string{"===", "!==", "==", "!=", "<>", "->", "=>", "::", "&&", "||", "<=", ">="}

// lex splits s into tokens, dropping comments, whitespace and numbers, appending to toks[:0].
// An unterminated single-line string ends at the end of its line, so one odd quote
// (a regex literal, a shell-ish line) cannot swallow the rest of the file.
func (sx *syntax) lex(s string, toks []token) []token {
	toks = toks[:0]
	if sx.config {
		return lexConfig(s, toks)
	}
	n := len(s)
	for i := 0; i < n; {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			continue
		case sx.blockOpen != "" && c == sx.blockOpen[0] && strings.HasPrefix(s[i:], sx.blockOpen):
			end := strings.Index(s[i+len(sx.blockOpen):], sx.blockClose)
			if end < 0 {
				return toks
			}
			i += len(sx.blockOpen) + end + len(sx.blockClose)
			continue
		case sx.isLineComment(s, i):
			end := strings.IndexByte(s[i:], '\n')
			if end < 0 {
				return toks
			}
			i += end + 1
			continue
		case strings.IndexByte(sx.quotes, c) >= 0:
			tok, next := sx.lexString(s, i)
			toks = append(toks, tok)
			i = next
			continue
		case isIdentStart(c) || strings.IndexByte(sx.identExtra, c) >= 0:
			j := i + 1
			for j < n && (isIdentPart(s[j]) || strings.IndexByte(sx.identExtra, s[j]) >= 0) {
				j++
			}
			toks = append(toks, tok(tIdent, i, j))
			i = j
			continue
		case c >= '0' && c <= '9':
			j := i + 1
			for j < n && (isIdentPart(s[j]) || s[j] == '.') {
				j++
			}
			i = j
			continue
		case c == '(' || c == '[' || c == '{':
			toks = append(toks, tok(tOpen, i, i+1))
		case c == ')' || c == ']' || c == '}':
			toks = append(toks, tok(tClose, i, i+1))
		default:
			if c >= 0x80 { // non-ASCII outside strings: skip the byte
				i++
				continue
			}
			op := s[i : i+1]
			if strings.IndexByte("=!<->:&|", c) >= 0 {
				for _, o := range ops {
					if strings.HasPrefix(s[i:], o) {
						op = o
						break
					}
				}
			}
			toks = append(toks, tok(tOp, i, i+len(op)))
			i += len(op)
			continue
		}
		i++
	}
	return toks
}

func (sx *syntax) isLineComment(s string, i int) bool {
	for _, lc := range sx.lineComments {
		if s[i] == lc[0] && strings.HasPrefix(s[i:], lc) {
			if lc == "#" && sx.hashAttr && i+1 < len(s) && s[i+1] == '[' {
				return false
			}
			return true
		}
	}
	return false
}

// lexString reads the literal starting at s[i] (a quote) and returns it and the offset after it.
func (sx *syntax) lexString(s string, i int) (token, int) {
	q := s[i]
	if sx.triple && strings.HasPrefix(s[i:], strings.Repeat(string(q), 3)) {
		delim := s[i : i+3]
		start := i + 3
		end := strings.Index(s[start:], delim)
		if end < 0 {
			return tok(tString, start, len(s)), len(s)
		}
		return tok(tString, start, start+end), start + end + 3
	}
	multi := strings.IndexByte(sx.multiline, q) >= 0
	raw := sx.rawBacktick && q == '`'
	start := i + 1
	for j := start; j < len(s); j++ {
		switch s[j] {
		case '\\':
			if !raw {
				j++
			}
		case '\n':
			if !multi {
				return tok(tString, start, j), j
			}
		case q:
			return tok(tString, start, j), j + 1
		}
	}
	return tok(tString, start, len(s)), len(s)
}

// lexConfig treats each line of a config file as one literal after dropping comments:
// whole-line comments (#, ;, !, //) and " #" / "\t#" inline comments; XML comments are blanked.
func lexConfig(s string, toks []token) []token {
	inXMLComment := false
	for off := 0; off < len(s); {
		end := strings.IndexByte(s[off:], '\n')
		if end < 0 {
			end = len(s) - off
		}
		line := s[off : off+end]
		start := off
		// XML comments may span lines: keep only the text outside them.
		for {
			if inXMLComment {
				k := strings.Index(line, "-->")
				if k < 0 {
					line = ""
					break
				}
				start += k + 3
				line = line[k+3:]
				inXMLComment = false
			}
			k := strings.Index(line, "<!--")
			if k < 0 {
				break
			}
			if k > 0 {
				toks = append(toks, tok(tString, start, start+k))
			}
			start += k + 4
			line = line[k+4:]
			inXMLComment = true
		}
		trimmed := strings.TrimLeft(line, " \t")
		if trimmed != "" && !strings.HasPrefix(trimmed, "#") && !strings.HasPrefix(trimmed, ";") &&
			!strings.HasPrefix(trimmed, "!") && !strings.HasPrefix(trimmed, "//") {
			for _, mark := range []string{" #", "\t#"} {
				if k := strings.Index(line, mark); k >= 0 {
					line = line[:k]
				}
			}
			toks = append(toks, tok(tString, start, start+len(line)))
		}
		off += end + 1
	}
	return toks
}

func isIdentStart(c byte) bool {
	return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func isIdentPart(c byte) bool { return isIdentStart(c) || ('0' <= c && c <= '9') }
