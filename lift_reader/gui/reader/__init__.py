"""The reader: pages of a book, shown by MuPDF or as plain text, with find."""
