"""The emulated Entra ID: discovery, the token and device-code endpoints and the bearer check
(`authority`), the JWTs it issues (`tokens`) and users' sign-ins (`signins`).
"""
