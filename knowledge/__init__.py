"""Knowledge base: ingestion, versioned FAISS+BM25 index, hybrid retrieval and extractive answers."""
