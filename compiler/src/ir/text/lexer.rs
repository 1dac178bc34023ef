//! The `.kir` lexer: splits source text into tokens with 1-based line and column
//! positions, and collects comments on the way.
//!
//! Two modes share one cursor:
//! - **token mode** ([`Lexer::peek`], [`Lexer::next`]): identifiers (`v7`, `block3`,
//!   `iconst.i32`), `%names`, `@srclocs`, integers (with an optional sign glued to a digit,
//!   so `v0-4` is `v0` followed by `-4`), punctuation and `->`.
//! - **literal mode** ([`Lexer::literal`]): one maximal run of `[A-Za-z0-9_.:+-]`, used
//!   where an integer, float or vector lane literal is expected (`-nan:0x1`, `1e-45`).
//!
//! Invariants: the cursor only moves forward, except that a peeked token may be given back
//! to literal mode (the cursor returns to that token's start, which lies after all trivia
//! already scanned, so no comment is ever recorded twice). Each call does work linear in
//! the text it consumes, never panics, and never allocates except for recorded comments.

use super::{Comment, ParseError};

/// A 1-based source position.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Debug, Default)]
pub(crate) struct Pos {
    pub line: u32,
    pub col: u32,
}

impl Pos {
    /// An error at this position.
    pub fn error(self, message: impl Into<String>) -> ParseError {
        ParseError {
            line: self.line,
            col: self.col,
            message: message.into(),
        }
    }

    /// The position `n` columns to the right (on the same line).
    pub fn plus_cols(self, n: usize) -> Pos {
        Pos {
            line: self.line,
            col: self
                .col
                .saturating_add(u32::try_from(n).unwrap_or(u32::MAX)),
        }
    }
}

/// What a token is.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub(crate) enum Tok<'a> {
    /// A word starting with a letter or `_`: `[A-Za-z_][A-Za-z0-9_.]*`.
    Ident(&'a str),
    /// `%name` (the text after `%`).
    Name(&'a str),
    /// `@hhhh` (the text after `@`, not yet checked to be hex).
    SrcLoc(&'a str),
    /// An integer: optional sign glued to a digit, then `[A-Za-z0-9_]*`.
    Int(&'a str),
    LParen,
    RParen,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Comma,
    Colon,
    Equal,
    Arrow,
    Eof,
}

impl Tok<'_> {
    /// How error messages name this token.
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(s) | Tok::Int(s) => format!("\"{s}\""),
            Tok::Name(s) => format!("\"%{s}\""),
            Tok::SrcLoc(s) => format!("\"@{s}\""),
            Tok::LParen => "\"(\"".into(),
            Tok::RParen => "\")\"".into(),
            Tok::LBrace => "\"{\"".into(),
            Tok::RBrace => "\"}\"".into(),
            Tok::LBracket => "\"[\"".into(),
            Tok::RBracket => "\"]\"".into(),
            Tok::Comma => "\",\"".into(),
            Tok::Colon => "\":\"".into(),
            Tok::Equal => "\"=\"".into(),
            Tok::Arrow => "\"->\"".into(),
            Tok::Eof => "end of input".into(),
        }
    }
}

/// A token and where it starts.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Token<'a> {
    pub tok: Tok<'a>,
    pub pos: Pos,
}

/// Cursor state: byte offset plus the line and column it corresponds to.
#[derive(Copy, Clone, Debug)]
struct Cursor {
    offset: usize,
    pos: Pos,
}

/// The lexer. See the module docs.
pub(crate) struct Lexer<'a> {
    src: &'a str,
    cur: Cursor,
    /// A token already lexed by `peek`, with the cursor at its start and after it.
    peeked: Option<(Token<'a>, Cursor, Cursor)>,
    /// Comments seen so far, in order.
    comments: Vec<Comment>,
    /// Comments starting before this offset have been recorded.
    comments_upto: usize,
    /// Line of the last token consumed by `next` or `literal`.
    last_line: u32,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'.'
}

fn is_int_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')
}

fn is_literal_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'+' | b'-')
}

impl<'a> Lexer<'a> {
    /// A lexer at the start of `src`.
    pub fn new(src: &'a str) -> Self {
        Lexer {
            src,
            cur: Cursor {
                offset: 0,
                pos: Pos { line: 1, col: 1 },
            },
            peeked: None,
            comments: Vec::new(),
            comments_upto: 0,
            last_line: 1,
        }
    }

    /// The comments recorded so far (all of them once `Eof` has been reached).
    pub fn take_comments(&mut self) -> Vec<Comment> {
        core::mem::take(&mut self.comments)
    }

    /// Line of the last consumed token.
    pub fn last_line(&self) -> u32 {
        self.last_line
    }

    fn byte(&self, offset: usize) -> Option<u8> {
        self.src.as_bytes().get(offset).copied()
    }

    /// Advance over `n` ASCII bytes on the current line.
    fn bump(&mut self, n: usize) {
        self.cur.offset += n;
        self.cur.pos = self.cur.pos.plus_cols(n);
    }

    /// Skip whitespace and comments, recording each comment once.
    fn skip_trivia(&mut self) {
        while let Some(b) = self.byte(self.cur.offset) {
            match b {
                b' ' | b'\t' | b'\r' => self.bump(1),
                b'\n' => {
                    self.cur.offset += 1;
                    self.cur.pos = Pos {
                        line: self.cur.pos.line.saturating_add(1),
                        col: 1,
                    };
                }
                b';' => {
                    let start = self.cur.offset;
                    let rest = &self.src[start + 1..];
                    let len = rest.find('\n').unwrap_or(rest.len());
                    if start >= self.comments_upto {
                        let text = &rest[..len];
                        let text = text.strip_suffix('\r').unwrap_or(text);
                        self.comments.push(Comment {
                            line: self.cur.pos.line,
                            col: self.cur.pos.col,
                            text: text.to_string(),
                        });
                        self.comments_upto = start + 1;
                    }
                    // Stop at the newline (handled above) so line counting stays in one place.
                    self.cur.offset = start + 1 + len;
                }
                _ => break,
            }
        }
    }

    /// Length of the run of bytes satisfying `pred` starting at `offset`.
    fn run_len(&self, offset: usize, pred: impl Fn(u8) -> bool) -> usize {
        self.src.as_bytes()[offset.min(self.src.len())..]
            .iter()
            .take_while(|&&b| pred(b))
            .count()
    }

    /// Lex one token at the cursor (after trivia). Returns it with the cursor at its start.
    fn lex(&mut self) -> Result<(Token<'a>, Cursor), ParseError> {
        self.skip_trivia();
        let start = self.cur.offset;
        let pos = self.cur.pos;
        let at = self.cur;
        let Some(b) = self.byte(start) else {
            return Ok((Token { tok: Tok::Eof, pos }, at));
        };
        let single = match b {
            b'(' => Some(Tok::LParen),
            b')' => Some(Tok::RParen),
            b'{' => Some(Tok::LBrace),
            b'}' => Some(Tok::RBrace),
            b'[' => Some(Tok::LBracket),
            b']' => Some(Tok::RBracket),
            b',' => Some(Tok::Comma),
            b':' => Some(Tok::Colon),
            b'=' => Some(Tok::Equal),
            _ => None,
        };
        if let Some(tok) = single {
            self.bump(1);
            return Ok((Token { tok, pos }, at));
        }
        let next = self.byte(start + 1);
        let (tok, len) = if is_ident_start(b) {
            let len = self.run_len(start, is_ident_char);
            (Tok::Ident(&self.src[start..start + len]), len)
        } else if b.is_ascii_digit() {
            let len = self.run_len(start, is_int_char);
            (Tok::Int(&self.src[start..start + len]), len)
        } else if (b == b'-' || b == b'+') && next.is_some_and(|c| c.is_ascii_digit()) {
            let len = 1 + self.run_len(start + 1, is_int_char);
            (Tok::Int(&self.src[start..start + len]), len)
        } else if b == b'-' && next == Some(b'>') {
            (Tok::Arrow, 2)
        } else if b == b'%' {
            let len = self.run_len(start + 1, is_name_char);
            if len == 0 {
                return Err(pos.error("expected a function name after \"%\""));
            }
            (Tok::Name(&self.src[start + 1..start + 1 + len]), 1 + len)
        } else if b == b'@' {
            let len = self.run_len(start + 1, |c| c.is_ascii_alphanumeric());
            (Tok::SrcLoc(&self.src[start + 1..start + 1 + len]), 1 + len)
        } else {
            let c = self.src[start..].chars().next().unwrap_or('?');
            return Err(pos.error(format!("unexpected character {c:?}")));
        };
        self.bump(len);
        Ok((Token { tok, pos }, at))
    }

    /// The next token, without consuming it.
    pub fn peek(&mut self) -> Result<Token<'a>, ParseError> {
        if let Some((t, _, _)) = self.peeked {
            return Ok(t);
        }
        let (tok, start) = self.lex()?;
        self.peeked = Some((tok, start, self.cur));
        Ok(tok)
    }

    /// Consume the next token.
    pub fn next(&mut self) -> Result<Token<'a>, ParseError> {
        let t = match self.peeked.take() {
            Some((t, _, after)) => {
                self.cur = after;
                t
            }
            None => self.lex()?.0,
        };
        if t.tok != Tok::Eof {
            self.last_line = t.pos.line;
        }
        Ok(t)
    }

    /// Consume one literal (see the module docs). Errors when there is none.
    pub fn literal(&mut self) -> Result<(&'a str, Pos), ParseError> {
        if let Some((_, start, _)) = self.peeked.take() {
            self.cur = start;
        }
        self.skip_trivia();
        let start = self.cur.offset;
        let pos = self.cur.pos;
        let len = self.run_len(start, is_literal_char);
        if len == 0 {
            let found = match self.lex() {
                Ok((t, _)) => t.tok.describe(),
                Err(e) => return Err(e),
            };
            return Err(pos.error(format!("expected a literal, found {found}")));
        }
        self.bump(len);
        self.last_line = pos.line;
        Ok((&self.src[start..start + len], pos))
    }

    /// Is the next non-trivia byte `b`? (Doesn't consume anything but trivia.)
    pub fn at_byte(&mut self, b: u8) -> bool {
        if let Some((_, start, _)) = self.peeked {
            return self.byte(start.offset) == Some(b);
        }
        self.skip_trivia();
        self.byte(self.cur.offset) == Some(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok<'_>> {
        let mut lx = Lexer::new(src);
        let mut out = Vec::new();
        loop {
            let t = lx.next().unwrap();
            if t.tok == Tok::Eof {
                return out;
            }
            out.push(t.tok);
        }
    }

    #[test]
    fn offsets_arrows_and_names() {
        assert_eq!(
            toks("v1 = load.i32 notrap v0-4 ; hi\n -> %a.b-c @01fa u0:5"),
            vec![
                Tok::Ident("v1"),
                Tok::Equal,
                Tok::Ident("load.i32"),
                Tok::Ident("notrap"),
                Tok::Ident("v0"),
                Tok::Int("-4"),
                Tok::Arrow,
                Tok::Name("a.b-c"),
                Tok::SrcLoc("01fa"),
                Tok::Ident("u0"),
                Tok::Colon,
                Tok::Int("5"),
            ]
        );
    }

    #[test]
    fn positions_comments_and_literal_mode() {
        let mut lx = Lexer::new("; c1\r\n  a  ; c2\n\t[-nan:0x1 2]");
        let a = lx.next().unwrap();
        assert_eq!(a.pos, Pos { line: 2, col: 3 });
        assert_eq!(lx.next().unwrap().tok, Tok::LBracket);
        // Peek a token, then take a literal from the same place.
        assert!(lx.peek().is_err(), "`-n` is not a token");
        let (lit, pos) = lx.literal().unwrap();
        assert_eq!((lit, pos), ("-nan:0x1", Pos { line: 3, col: 3 }));
        assert_eq!(lx.peek().unwrap().tok, Tok::Int("2"));
        assert_eq!(lx.literal().unwrap().0, "2");
        assert!(lx.at_byte(b']'));
        assert_eq!(lx.next().unwrap().tok, Tok::RBracket);
        assert_eq!(lx.next().unwrap().tok, Tok::Eof);
        let c = lx.take_comments();
        assert_eq!(c.len(), 2);
        assert_eq!((c[0].line, c[0].col, c[0].text.as_str()), (1, 1, " c1"));
        assert_eq!((c[1].line, c[1].col, c[1].text.as_str()), (2, 6, " c2"));
    }

    #[test]
    fn bad_characters_are_errors() {
        let mut lx = Lexer::new("  é");
        let e = lx.next().unwrap_err();
        assert_eq!((e.line, e.col), (1, 3));
        assert!(lx.literal().is_err());
        let mut lx = Lexer::new("% x");
        assert!(lx.next().is_err());
    }
}
