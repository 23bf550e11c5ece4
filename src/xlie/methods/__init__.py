"""Methods: how inputs are built and which model head scores them. Training uses HF Trainer."""
