"""What companies apply for and the public sees: products, applications, certificates."""
