// The worker host (connect to a coordinator, receive hyperparameters and a data shard, train and
// all-reduce over gRPC) is not built yet; until it is, say so instead of pretending to work.
Console.Error.WriteLine("worker: distributed training is not available yet; train on one machine with `coordinator -- train`.");
return 2;
