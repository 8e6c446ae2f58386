//! The pure domain core: money, pieces, drops, carts, tenders, sales.
//!
//! Architecture invariant: nothing here does I/O, knows SQL, bytes or widgets. Time
//! comes in as an argument (`now`), never from the clock, so every rule is testable.

pub mod cart;
pub mod cash;
pub mod conflict;
pub use marketday_provenance::dispatch;
pub mod drop;
pub mod lockout;
pub mod money;
pub mod piece;
pub mod printout;
pub use marketday_provenance as provenance;
pub mod reservation;
pub mod sale;
pub mod tender;

pub use cart::{Cart, CartLine, DISCOUNT_REASONS, Discount, DiscountKind, SellError, Totals};
pub use drop::{Drop, DropPhase, Member};
pub use money::{Currency, Money, MoneyError, VatRate};
pub use piece::{Edition, Piece, PieceStatus, Serial};
pub use reservation::{
    Customer, HoldLength, RELEASE_REASONS, Reservation, ReservationCode, ReservationKind, ReservationState,
};
pub use sale::{CheckoutError, NewSale, RETURN_REASONS, ReceiptNumber, ReturnError, ReturnsWindow, SaleLine};
pub use tender::{Settlement, Tender, TenderError};
