namespace Distributed.Models.Data;

/// <summary>Which part of a <see cref="TokenDataset"/> a batch is drawn from.</summary>
public enum DataSplit { Train, Validation }
