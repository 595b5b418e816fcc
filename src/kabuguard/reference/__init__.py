"""Reference data in bulk: instruments, prices and customers' registered names from CSV."""
