"""Learning-loop models: like/dislike classifier, collaborative filtering, autoencoders."""
