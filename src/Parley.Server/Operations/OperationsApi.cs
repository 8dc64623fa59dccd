using Parley.Server.Common;
using Parley.Server.Storage;

namespace Parley.Server.Operations;

public sealed record HealthAnswer(string Status);

public static class OperationsApi
{
    public static IEndpointRouteBuilder MapOperations(this IEndpointRouteBuilder routes)
    {
        // Ready (and the classic /health): the store answers. Live: the process serves requests at all.
        routes.MapGet("/health", Ready).WithTags("Operations").AllowAnonymous().Produces<HealthAnswer>();
        routes.MapGet("/health/ready", Ready).WithTags("Operations").AllowAnonymous().Produces<HealthAnswer>();
        routes.MapGet("/health/live", () => TypedResults.Json(new HealthAnswer("ok"), AppJson.Options)).WithTags("Operations").AllowAnonymous()
            .Produces<HealthAnswer>();
        routes.MapOpenApi().AllowAnonymous();
        return routes;
    }

    private static async Task<IResult> Ready(IParleyStore store, CancellationToken ct)
    {
        try
        {
            return await store.PingAsync(ct)
                ? TypedResults.Json(new HealthAnswer("ok"), AppJson.Options)
                : ApiError.Status(StatusCodes.Status503ServiceUnavailable, "The store does not answer.");
        }
        catch (Exception)
        {
            return ApiError.Status(StatusCodes.Status503ServiceUnavailable, "The store does not answer.");
        }
    }
}
