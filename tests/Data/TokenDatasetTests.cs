using Distributed.Models.Data;
using Distributed.Models;

namespace Distributed.Tests.Data;

public class TokenDatasetTests
{
    [Fact]
    public void First_ninety_percent_trains_and_the_rest_validates()
    {
        var tokens = Enumerable.Range(0, 1000).ToArray();

        var dataset = new TokenDataset(tokens);

        Assert.Equal(tokens[..900], dataset.TrainTokens.ToArray());
        Assert.Equal(tokens[900..], dataset.ValidationTokens.ToArray());
    }

    [Fact]
    public void Split_point_rounds_down_like_nanogpt()
    {
        var dataset = new TokenDataset(new int[15]);

        Assert.Equal(13, dataset.TrainTokens.Length); // int(0.9 * 15) = 13
        Assert.Equal(2, dataset.ValidationTokens.Length);
    }
}
