using Parley.Server.Common;
using Parley.Server.Storage;

namespace Parley.Server.Operations;

public static class OperationsApi
{
    public static IEndpointRouteBuilder MapOperations(this IEndpointRouteBuilder routes)
    {
        // Ready (and the classic /health): the store answers. Live: the process serves requests at all.
        routes.MapGet("/health", Ready).WithTags("Operations").AllowAnonymous();
        routes.MapGet("/health/ready", Ready).WithTags("Operations").AllowAnonymous();
        routes.MapGet("/health/live", () => TypedResults.Json(new { status = "ok" }, AppJson.Options)).WithTags("Operations").AllowAnonymous();
        routes.MapOpenApi().AllowAnonymous();
        return routes;
    }

    private static async Task<IResult> Ready(IParleyStore store, CancellationToken ct)
    {
        try
        {
            return await store.PingAsync(ct)
                ? TypedResults.Json(new { status = "ok" }, AppJson.Options)
                : ApiError.Status(StatusCodes.Status503ServiceUnavailable, "The store does not answer.");
        }
        catch (Exception)
        {
            return ApiError.Status(StatusCodes.Status503ServiceUnavailable, "The store does not answer.");
        }
    }
}
