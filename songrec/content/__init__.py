"""The content side: catalogue features, embedding artifacts, the index, lookup and the serving Engine."""
