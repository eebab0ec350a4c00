"""edgefit: will this model run on that edge accelerator, and exactly why not?"""
