using Distributed.Protocol;
using Distributed.Protocol.V1;
using Google.Protobuf;

namespace Distributed.Tests.Cluster;

/// <summary>
/// A worker driven by hand over the real wire client (<see cref="CoordinatorConnection"/>, which carries
/// the run token and, after Join, this worker's secret): it sends whatever a test wants a hostile or
/// broken peer to send.
/// </summary>
internal static class FakeWorker
{
    public static JoinRequest Join(string name = "intruder") => new() { ProtocolVersion = ProtocolVersion._2, WorkerName = name, Device = "cpu", Threads = 1 };

    public static CoordinatorConnection Connect(int port, string token) => new(new Uri($"http://127.0.0.1:{port}"), token);

    public static async Task<(JoinReply, Assignment)> JoinAndAssign(Protocol.V1.Coordinator.CoordinatorClient client, string name = "intruder")
    {
        var join = await client.JoinAsync(Join(name));
        return (join, await NextTrainAssignment(client, join));
    }

    /// <summary>Asks for work as a worker's loop does, until training starts (bounded).</summary>
    public static async Task<Assignment> NextTrainAssignment(Protocol.V1.Coordinator.CoordinatorClient client, JoinReply join)
    {
        for (var attempt = 0; attempt < 300; attempt++)
        {
            var assignment = await client.NextAssignmentAsync(new AssignmentRequest { WorkerId = join.WorkerId });
            if (assignment.Kind == Assignment.Types.Kind.Train)
            {
                return assignment;
            }
            await Task.Delay(100);
        }
        throw new TimeoutException("No training assignment.");
    }

    /// <summary>The vocabulary of the run's character tokenizer, so a test can size the model's gradient.</summary>
    public static int VocabOf(JoinReply join)
        => System.Text.Json.JsonDocument.Parse(join.TokenizerJson).RootElement.GetProperty("chars").GetArrayLength();

    /// <summary>Float32 values in the first gradient bucket of the run's model.</summary>
    public static int FirstBucketElements(Models.GptConfig config, JoinReply join)
        => (int)Math.Min(DistributedBuckets.Elements, new Models.Gpt.ParameterLayout(config with { VocabSize = VocabOf(join) }).TotalLength);

    public static GradientBucket Bucket(JoinReply join, Assignment assignment, byte[] data, string fingerprint, float loss = 1f) => new()
    {
        WorkerId = join.WorkerId, ModelFingerprint = fingerprint, Generation = assignment.Generation, Step = assignment.FirstStep,
        Bucket = 0, Data = ByteString.CopyFrom(data), Loss = loss,
    };
}
