"""Data: crops (``crop``), readers for the processed annotations (``annotations``), datasets and
collate functions for training and testing (``datasets``)."""
