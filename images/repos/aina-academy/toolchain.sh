# aina-academy: Node and pnpm from the base are all its CI needs today.
true
