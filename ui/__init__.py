"""The Gradio web page: upload and index, timeline search with player seek, characters, Q&A."""
