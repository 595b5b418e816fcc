"""Staff-managed lists: symbol buy-halts (TRADE-1) and blocked networks (III-2-8 ⑤)."""
