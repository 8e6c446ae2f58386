//! A printout as the app describes it, before any printer's bytes: lines of text, QR
//! codes, images, feeds and cuts. Layouts build a [`Ticket`]; [`crate::encode`] turns it
//! into ESC/POS for one printer profile.

use crate::raster::Bitmap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Align {
    #[default]
    Left,
    Center,
    Right,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Style {
    pub align: Align,
    pub bold: bool,
    /// Double width and height, for totals and headings.
    pub large: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// One line; the layout has already fitted it to the columns.
    Text { text: String, style: Style },
    /// A QR code at error correction M with modules `module_dots` wide, centred.
    Qr { payload: String, module_dots: u8 },
    /// A 1-bit image, centred.
    Image(Bitmap),
    /// Blank lines.
    Feed(u8),
    /// Blank space in dots, to fill a label to its height.
    FeedDots(u8),
    /// Narrows the printable area (labels narrower than the paper), in dots from the left.
    PrintWidth(u16),
    /// Cuts where the printer has a cutter; otherwise feeds enough to tear off.
    Cut,
    /// Opens the cash drawer wired to the printer.
    DrawerPulse,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Ticket {
    pub blocks: Vec<Block>,
}

impl Ticket {
    pub fn new() -> Ticket {
        Ticket::default()
    }

    pub fn push(&mut self, block: Block) -> &mut Ticket {
        self.blocks.push(block);
        self
    }

    pub fn text(&mut self, text: impl Into<String>, style: Style) -> &mut Ticket {
        self.push(Block::Text { text: text.into(), style })
    }

    pub fn line(&mut self, text: impl Into<String>) -> &mut Ticket {
        self.text(text, Style::default())
    }
}
