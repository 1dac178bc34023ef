//! Condition codes for `icmp` and `fcmp`.

use core::fmt;
use core::str::FromStr;

macro_rules! cond_enum {
    ($(#[$attr:meta])* $name:ident { $($(#[$vattr:meta])* $v:ident = $s:literal,)* }) => {
        $(#[$attr])*
        #[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
        pub enum $name { $($(#[$vattr])* $v,)* }
        impl $name {
            /// Every condition, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$v,)*];
            /// The text name.
            pub const fn name(self) -> &'static str {
                match self { $($name::$v => $s,)* }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.name()) }
        }
        impl FromStr for $name {
            type Err = ();
            fn from_str(s: &str) -> Result<Self, ()> {
                match s { $($s => Ok($name::$v),)* _ => Err(()) }
            }
        }
    };
}

cond_enum!(
    /// Integer comparison.
    IntCC {
        /// `==`
        Equal = "eq",
        /// `!=`
        NotEqual = "ne",
        /// signed `<`
        SignedLessThan = "slt",
        /// signed `<=`
        SignedLessThanOrEqual = "sle",
        /// signed `>`
        SignedGreaterThan = "sgt",
        /// signed `>=`
        SignedGreaterThanOrEqual = "sge",
        /// unsigned `<`
        UnsignedLessThan = "ult",
        /// unsigned `<=`
        UnsignedLessThanOrEqual = "ule",
        /// unsigned `>`
        UnsignedGreaterThan = "ugt",
        /// unsigned `>=`
        UnsignedGreaterThanOrEqual = "uge",
    }
);

impl IntCC {
    /// The condition that is true exactly when `self` is false.
    pub const fn inverse(self) -> IntCC {
        use IntCC::*;
        match self {
            Equal => NotEqual,
            NotEqual => Equal,
            SignedLessThan => SignedGreaterThanOrEqual,
            SignedLessThanOrEqual => SignedGreaterThan,
            SignedGreaterThan => SignedLessThanOrEqual,
            SignedGreaterThanOrEqual => SignedLessThan,
            UnsignedLessThan => UnsignedGreaterThanOrEqual,
            UnsignedLessThanOrEqual => UnsignedGreaterThan,
            UnsignedGreaterThan => UnsignedLessThanOrEqual,
            UnsignedGreaterThanOrEqual => UnsignedLessThan,
        }
    }

    /// The condition with operands swapped: `a cc b == b cc.swap_args() a`.
    pub const fn swap_args(self) -> IntCC {
        use IntCC::*;
        match self {
            Equal => Equal,
            NotEqual => NotEqual,
            SignedLessThan => SignedGreaterThan,
            SignedLessThanOrEqual => SignedGreaterThanOrEqual,
            SignedGreaterThan => SignedLessThan,
            SignedGreaterThanOrEqual => SignedLessThanOrEqual,
            UnsignedLessThan => UnsignedGreaterThan,
            UnsignedLessThanOrEqual => UnsignedGreaterThanOrEqual,
            UnsignedGreaterThan => UnsignedLessThan,
            UnsignedGreaterThanOrEqual => UnsignedLessThanOrEqual,
        }
    }
}

cond_enum!(
    /// Floating-point comparison. "Ordered" conditions are false when either operand is NaN;
    /// "unordered" ones (`u` prefix, and `ne`) are true when either is NaN.
    FloatCC {
        /// neither operand is NaN
        Ordered = "ord",
        /// either operand is NaN
        Unordered = "uno",
        /// ordered and equal
        Equal = "eq",
        /// unordered or not equal
        NotEqual = "ne",
        /// ordered and not equal
        OrderedNotEqual = "one",
        /// unordered or equal
        UnorderedOrEqual = "ueq",
        /// ordered and `<`
        LessThan = "lt",
        /// ordered and `<=`
        LessThanOrEqual = "le",
        /// ordered and `>`
        GreaterThan = "gt",
        /// ordered and `>=`
        GreaterThanOrEqual = "ge",
        /// unordered or `<`
        UnorderedOrLessThan = "ult",
        /// unordered or `<=`
        UnorderedOrLessThanOrEqual = "ule",
        /// unordered or `>`
        UnorderedOrGreaterThan = "ugt",
        /// unordered or `>=`
        UnorderedOrGreaterThanOrEqual = "uge",
    }
);

impl FloatCC {
    /// The condition that is true exactly when `self` is false (NaN included).
    pub const fn inverse(self) -> FloatCC {
        use FloatCC::*;
        match self {
            Ordered => Unordered,
            Unordered => Ordered,
            Equal => NotEqual,
            NotEqual => Equal,
            OrderedNotEqual => UnorderedOrEqual,
            UnorderedOrEqual => OrderedNotEqual,
            LessThan => UnorderedOrGreaterThanOrEqual,
            LessThanOrEqual => UnorderedOrGreaterThan,
            GreaterThan => UnorderedOrLessThanOrEqual,
            GreaterThanOrEqual => UnorderedOrLessThan,
            UnorderedOrLessThan => GreaterThanOrEqual,
            UnorderedOrLessThanOrEqual => GreaterThan,
            UnorderedOrGreaterThan => LessThanOrEqual,
            UnorderedOrGreaterThanOrEqual => LessThan,
        }
    }

    /// The condition with operands swapped.
    pub const fn swap_args(self) -> FloatCC {
        use FloatCC::*;
        match self {
            LessThan => GreaterThan,
            LessThanOrEqual => GreaterThanOrEqual,
            GreaterThan => LessThan,
            GreaterThanOrEqual => LessThanOrEqual,
            UnorderedOrLessThan => UnorderedOrGreaterThan,
            UnorderedOrLessThanOrEqual => UnorderedOrGreaterThanOrEqual,
            UnorderedOrGreaterThan => UnorderedOrLessThan,
            UnorderedOrGreaterThanOrEqual => UnorderedOrLessThanOrEqual,
            c => c,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_and_swap_are_involutions() {
        for &c in IntCC::ALL {
            assert_eq!(c.inverse().inverse(), c);
            assert_eq!(c.swap_args().swap_args(), c);
            assert_eq!(c.name().parse::<IntCC>(), Ok(c));
        }
        for &c in FloatCC::ALL {
            assert_eq!(c.inverse().inverse(), c);
            assert_eq!(c.swap_args().swap_args(), c);
            assert_eq!(c.name().parse::<FloatCC>(), Ok(c));
        }
    }
}
