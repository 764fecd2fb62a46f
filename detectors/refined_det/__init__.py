"""refined_det: MMRotate plugins for Refined-Det."""
