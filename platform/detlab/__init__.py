"""detlab: the Refined-Det experimentation platform."""
