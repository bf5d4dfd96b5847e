package odata

import (
	"strconv"
	"strings"
	"time"

	"github.com/ostiary/ostiary/internal/iam"
)

// tokKind classifies a $filter token.
type tokKind uint8

const (
	tEOF    tokKind = iota
	tIdent          // displayName, eq, and, startsWith, $count
	tString         // 'text' with '' unescaped in text
	tInt            // 42, -7
	tTime           // 2024-01-01T00:00:00Z (unquoted, as Graph wants)
	tGUID           // an unquoted GUID
	tLParen
	tRParen
	tComma
	tSlash
	tColon
)

var tokNames = [...]string{"end of input", "identifier", "string", "integer", "datetime", "GUID", "'('", "')'", "','", "'/'", "':'"}

func (k tokKind) String() string { return tokNames[k] }

type token struct {
	kind tokKind
	pos  int    // byte offset in the source
	text string // identifier, unescaped string, or literal text
	ival int64
	tval time.Time
}

// lex splits a $filter into tokens. The source is at most MaxFilterLen bytes,
// so the token slice is small and lexing up front keeps the parser simple.
func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
			continue
		case c == '(':
			toks = append(toks, token{kind: tLParen, pos: i})
			i++
		case c == ')':
			toks = append(toks, token{kind: tRParen, pos: i})
			i++
		case c == ',':
			toks = append(toks, token{kind: tComma, pos: i})
			i++
		case c == '/':
			toks = append(toks, token{kind: tSlash, pos: i})
			i++
		case c == ':':
			toks = append(toks, token{kind: tColon, pos: i})
			i++
		case c == '\'':
			s, n, ok := lexString(src[i:])
			if !ok {
				return nil, syntaxError(src, i, "unterminated string literal")
			}
			toks = append(toks, token{kind: tString, pos: i, text: s})
			i += n
		case isGUIDAt(src, i):
			toks = append(toks, token{kind: tGUID, pos: i, text: strings.ToLower(src[i : i+36])})
			i += 36
		case isDigit(c) || c == '-':
			j := i + 1
			for j < len(src) && isLiteralChar(src[j]) {
				j++
			}
			t, err := lexNumberOrTime(src, i, src[i:j])
			if err != nil {
				return nil, err
			}
			toks = append(toks, t)
			i = j
		case isIdentStart(c):
			j := i + 1
			for j < len(src) && isIdentChar(src[j]) {
				j++
			}
			toks = append(toks, token{kind: tIdent, pos: i, text: src[i:j]})
			i = j
		default:
			return nil, syntaxError(src, i, "unexpected character")
		}
	}
	return append(toks, token{kind: tEOF, pos: len(src)}), nil
}

// lexString reads a quoted literal at the start of s, where a doubled quote
// stands for one. It returns the text, the bytes consumed and whether it
// was closed.
func lexString(s string) (string, int, bool) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] != '\'' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '\'' {
			b.WriteByte('\'')
			i++
			continue
		}
		return b.String(), i + 1, true
	}
	return "", 0, false
}

// isGUIDAt reports whether an unquoted GUID starts at i and ends at a token
// boundary. It is checked before identifiers and numbers because a GUID may
// start with a letter or a digit.
func isGUIDAt(src string, i int) bool {
	if len(src)-i < 36 || !iam.IsGUID(src[i:i+36]) {
		return false
	}
	if i > 0 && (isIdentChar(src[i-1]) || src[i-1] == '-') {
		return false
	}
	return i+36 == len(src) || !(isIdentChar(src[i+36]) || src[i+36] == '-')
}

// lexNumberOrTime classifies an unquoted literal that starts with a digit or
// a minus sign: an integer or an RFC 3339 timestamp.
func lexNumberOrTime(src string, pos int, lit string) (token, error) {
	if isInteger(lit) {
		n, err := strconv.ParseInt(lit, 10, 64)
		if err != nil {
			return token{}, badRequest("The integer literal '%s' is out of range.", lit)
		}
		return token{kind: tInt, pos: pos, text: lit, ival: n}, nil
	}
	if strings.ContainsAny(lit, "Tt") {
		t, ok := parseTime(lit)
		if !ok {
			return token{}, badRequest("The datetime literal '%s' is not a valid RFC 3339 timestamp.", lit)
		}
		return token{kind: tTime, pos: pos, text: lit, tval: t}, nil
	}
	return token{}, syntaxError(src, pos, "invalid literal '"+lit+"'")
}

func isInteger(s string) bool {
	if strings.HasPrefix(s, "-") {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isIdentStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c == '$'
}

func isIdentChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || isDigit(c)
}

// isLiteralChar is what an unquoted number or timestamp may contain.
func isLiteralChar(c byte) bool {
	return isIdentChar(c) || c == '-' || c == ':' || c == '.' || c == '+'
}
