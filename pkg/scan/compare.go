package scan

import "strings"

// compareOps are the operators that make a string literal beside them a comparison.
var compareOps = map[string]bool{"==": true, "!=": true, "===": true, "!==": true, "<>": true}

// compareCalls are functions and methods whose string arguments (or receiver) are compared:
// env.equals("online"), strings.EqualFold(r, "us1"), in_array($env, ['pre']), list.includes(env).
var compareCalls = map[string]bool{
	"equals": true, "equalsignorecase": true, "equalfold": true, "compareto": true,
	"comparetoignorecase": true, "strcmp": true, "strcasecmp": true, "strncmp": true,
	"in_array": true, "array_search": true, "contains": true, "includes": true, "has": true,
	"indexof": true, "startswith": true, "endswith": true, "hasprefix": true, "hassuffix": true,
	"eq": true, "eql": true, "equal": true, "isequal": true,
}

// tokens is a lexed file with its bracket structure: for each token the innermost enclosing
// opener (-1 at top level), and for each opener its closer and its own enclosing opener.
type tokens struct {
	t      []token
	within []int // token index → index of the innermost enclosing opener, or -1
	closer []int // opener index → index of its closer, or len(t) when unclosed
}

func newTokens(t []token) *tokens {
	tk := &tokens{t: t, within: make([]int, len(t)), closer: make([]int, len(t))}
	var stack []int
	for i, x := range t {
		top := -1
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		tk.within[i] = top
		switch x.kind {
		case tOpen:
			stack = append(stack, i)
			tk.closer[i] = len(t)
		case tClose:
			if len(stack) > 0 {
				tk.closer[stack[len(stack)-1]] = i
				stack = stack[:len(stack)-1]
				tk.within[i] = -1
				if len(stack) > 0 {
					tk.within[i] = stack[len(stack)-1]
				}
			}
		}
	}
	return tk
}

func (tk *tokens) is(i int, kind tokKind, text string) bool {
	return i >= 0 && i < len(tk.t) && tk.t[i].kind == kind && tk.t[i].text == text
}

func (tk *tokens) ident(i int) string {
	if i >= 0 && i < len(tk.t) && tk.t[i].kind == tIdent {
		return tk.t[i].text
	}
	return ""
}

// isComparedLiteral reports whether the string literal at i is compared with something:
// an operand of ==/!=/===/!==, a case label, an argument or receiver of a comparing call,
// or a member of a literal list tested with `in` or a membership method.
func (tk *tokens) isComparedLiteral(i int) bool {
	t := tk.t
	if i > 0 && t[i-1].kind == tOp && compareOps[t[i-1].text] {
		return true
	}
	if i+1 < len(t) && t[i+1].kind == tOp && (compareOps[t[i+1].text] || t[i+1].text == "->") {
		return true // "prod" == env; Kotlin when: "prod" -> ...
	}
	// "online".equals(env)
	if tk.is(i+1, tOp, ".") && compareCalls[strings.ToLower(tk.ident(i+2))] {
		return true
	}
	// case "a", "b": / case "a" ->
	j := i - 1
	for j >= 0 && (t[j].kind == tString || tk.is(j, tOp, ",")) {
		j--
	}
	if kw := tk.ident(j); kw == "case" || kw == "when" {
		return true
	}
	g := tk.within[i]
	if tk.isCallOf(g) {
		return true
	}
	if g >= 0 && tk.isLiteralList(g) {
		if tk.ident(g-1) == "in" || tk.isMembershipTest(g) {
			return true // x in ("a", "b"); ["a", "b"].includes(x); Arrays.asList("a").contains(x)
		}
		if p := tk.within[g]; p >= 0 && (tk.isCallOf(p) || tk.isMembershipTest(p)) {
			return true // in_array($env, ['a', 'b']); new Set(['a']).has(x)
		}
	}
	return false
}

// isCallOf reports whether opener g starts the arguments of a comparing call.
func (tk *tokens) isCallOf(g int) bool {
	return tk.is(g, tOpen, "(") && compareCalls[strings.ToLower(tk.ident(g-1))]
}

// isMembershipTest reports whether the group opened at g is followed by .includes(/.contains(/...
func (tk *tokens) isMembershipTest(g int) bool {
	c := tk.closer[g]
	return tk.is(c+1, tOp, ".") && compareCalls[strings.ToLower(tk.ident(c+2))]
}

// isLiteralList reports whether the group opened at g holds only string literals and commas.
func (tk *tokens) isLiteralList(g int) bool {
	c := tk.closer[g]
	if c >= len(tk.t) || c == g+1 {
		return false
	}
	for k := g + 1; k < c; k++ {
		if tk.t[k].kind != tString && !tk.is(k, tOp, ",") {
			return false
		}
	}
	return true
}
