"""What companies apply for and the public sees: organisations, products, applications, certificates."""
