"""How a reply is read: its text cleaned, its fluency, harm and strategy classes, and the score a
user's emotion moves by."""
